/**
 * An S3-protocol server on 127.0.0.1 for the tests and benchmarks (the npm package s3rver, files in a temporary
 * folder): the stand-in for a remote object store that cannot run here. LanceDB talks to it with
 * path-style requests over plain HTTP. It ignores conditional writes (If-None-Match), so two
 * LanceDB commits to one table at the same moment can lose one: tests run one writer at a time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface S3Server {
  /** LanceDB storage options for this server. */
  readonly storageOptions: Record<string, string>;
  /** A fresh `s3://bucket/prefix` URI on it. */
  uri(prefix: string): string;
  close(): Promise<void>;
}

export async function startS3Server(bucket = 'opticmem'): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'opticmem-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  return {
    storageOptions: {
      endpoint: `http://127.0.0.1:${port}`,
      aws_access_key_id: 'S3RVER',
      aws_secret_access_key: 'S3RVER',
      region: 'us-east-1',
      allow_http: 'true',
      virtual_hosted_style_request: 'false',
    },
    uri: (prefix) => `s3://${bucket}/${prefix}`,
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
