/** `opticmem inspect`: serve the memory inspector until SIGINT or SIGTERM. */
import { InvalidArgumentError } from 'commander';
import { DEFAULT_INSPECTOR_PORT, isLoopbackHost, startInspector } from '../../inspector/server.js';

export interface InspectCommandOptions {
  db: string;
  port?: number;
  host?: string;
  allowWrite?: boolean;
}

export { DEFAULT_INSPECTOR_PORT };

/** commander parser for --port: a whole number 0-65535 (0 picks a free port). */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d{1,5}$/.test(value) || n > 65535) throw new InvalidArgumentError(`--port must be a whole number 0-65535 (0 picks a free port), got '${value}'.`);
  return n;
}

export async function inspectCommand(options: InspectCommandOptions): Promise<number> {
  const host = options.host ?? '127.0.0.1';
  const allowWrite = options.allowWrite === true;
  const inspector = await startInspector({ db: options.db, port: options.port ?? DEFAULT_INSPECTOR_PORT, host, allowWrite });
  process.stdout.write(`opticmem inspector: ${inspector.url} (${allowWrite ? 'writes allowed' : 'read-only'}; Ctrl+C to stop)\n`);
  if (!isLoopbackHost(host)) {
    process.stderr.write(`opticmem: listening on ${host}: anyone who can reach this address can read the memory${allowWrite ? ' and delete from it' : ''}.\n`);
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (s: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(s);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await inspector.close();
  process.stdout.write(`opticmem inspector: stopped (${signal})\n`);
  return 0;
}
