/**
 * `opticmem mcp`: serve a store to MCP clients on stdio until the client closes stdin or the
 * process gets SIGINT/SIGTERM; then the server and the Memory are closed so nothing is lost.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { Memory } from '../../../memory/memory.js';
import type { Scope } from '../../../memory/store/store.js';
import { createMcpServer } from '../../integrations/mcp-server.js';
import { scopeOf, storeLocation, type ScopeFlags } from './memory-commands.js';
import { chosenDecoderFromFlags, type DecoderFlags } from '../decoder-flags.js';

export interface McpCommandOptions extends DecoderFlags, ScopeFlags {
  db: string;
  profile?: string;
  hotBudget?: number;
}

/** MCP clients start the server without a shell, so a '~' in their config arrives unexpanded. */
function expandHome(path: string): string {
  return path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

export async function mcpCommand(options: McpCommandOptions): Promise<number> {
  const db = expandHome(options.db);
  // As stored: the server spans within the user itself where a tool reads.
  const defaultScope: Scope = scopeOf(options, 'stored');
  // The default local reader is opened and closed by the Memory; one the flags chose is closed here.
  const decoder = chosenDecoderFromFlags(options);
  const memory = await Memory.open({
    ...storeLocation(db),
    ...(decoder ? { decoder } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.hotBudget ? { tiers: { hotBudgetTokens: options.hotBudget } } : {}),
  });
  let server: ReturnType<typeof createMcpServer> | undefined;
  let stop: (why: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  const onEnd = () => stop('stdin closed');
  const onSigint = () => stop('SIGINT');
  const onSigterm = () => stop('SIGTERM');
  process.stdin.once('end', onEnd);
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);
  try {
    server = createMcpServer({ memory, ...(Object.keys(defaultScope).length ? { defaultScope } : {}) });
    server.server.onclose = () => stop('connection closed');
    await server.connect(new StdioServerTransport());
    // stdout carries the protocol; anything for people goes to stderr.
    process.stderr.write(`opticmem mcp: serving ${db} on stdio\n`);
    const why = await stopped;
    process.stderr.write(`opticmem mcp: ${why}, closing\n`);
    return 0;
  } finally {
    process.stdin.off('end', onEnd);
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    await server?.close().catch(() => undefined);
    await memory.close();
    await decoder?.close();
    // The transport only pauses stdin; release it so the process can exit.
    process.stdin.destroy();
  }
}
