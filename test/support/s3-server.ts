/** The S3-protocol test server lives with the benchmarks that also use it. */
export * from '../../eval/lib/s3-server.js';
