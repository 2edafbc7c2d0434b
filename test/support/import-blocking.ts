/**
 * Imports a module in a fresh Node process whose resolver refuses some packages, to show an
 * entry point loads without them. Runs against the built package (`npm run build`).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

export interface BlockedImport {
  /** Export names of the imported module. */
  readonly names: string[];
  /** Whether importing `probe` directly was refused, i.e. the block really applies. */
  readonly probeBlocked: boolean;
}

export function importWithBlocked(specifier: string, blocked: readonly string[], probe: string): BlockedImport {
  const pattern = `^(${blocked.map((b) => b.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})(/|$)`;
  const hooks = `const re = new RegExp(${JSON.stringify(pattern)}); export async function resolve(s, c, next) { if (re.test(s)) throw new Error('blocked: ' + s); return next(s, c); }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  const script = `
    const m = await import(${JSON.stringify(specifier)});
    let probeBlocked = false;
    try { await import(${JSON.stringify(probe)}); } catch (e) { probeBlocked = String(e?.message).includes('blocked: '); }
    console.log(JSON.stringify({ names: Object.keys(m).sort(), probeBlocked }));`;
  const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`importing ${specifier} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as BlockedImport;
}
