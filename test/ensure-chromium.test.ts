import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The script is plain ESM run before the suite; it is exercised as a child process on a PATH of
// stand-in commands, as a user other than root (the case that needs sudo).
const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'opticmem-chromium-'));
chmodSync(dir, 0o755);
copyFileSync(join(root, 'scripts', 'ensure-chromium.mjs'), join(dir, 'ensure-chromium.mjs'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const NOBODY = 65534;

function bin(name: string, files: Record<string, string>): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  chmodSync(d, 0o755);
  for (const [file, body] of Object.entries(files)) {
    writeFileSync(join(d, file), body);
    chmodSync(join(d, file), body.startsWith('#!') ? 0o755 : 0o644);
  }
  return d;
}

function run(code: string, path: string, asNobody: boolean) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: path, HOME: dir },
    ...(asNobody ? { uid: NOBODY, gid: NOBODY } : {}),
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { path?: string; reason?: string };
}

const call = (expr: string) => `import * as m from './ensure-chromium.mjs'; process.stdout.write(JSON.stringify(${expr}));`;

describe('scripts/ensure-chromium.mjs', () => {
  it('finds only executables: a file without the x bit or a directory does not count', () => {
    const notExec = bin('not-exec', { chromium: 'not a program' });
    mkdirSync(join(notExec, 'chromium-browser'), { recursive: true });
    const real = bin('real', { chromium: '#!/bin/sh\nexit 0\n' });
    const found = run(call(`{ path: m.findChromium(${JSON.stringify(`${notExec}:${real}`)}) }`), process.env.PATH ?? '', false);
    expect(found.path).toBe(join(real, 'chromium'));
    expect(run(call(`{ path: m.findChromium(${JSON.stringify(notExec)}) ?? null }`), process.env.PATH ?? '', false).path).toBeNull();
  });

  // Stand-ins for apt-get and sudo, alone on PATH (the machine's own chromium must not be found):
  // the script must ask `sudo -n` and never prompt. apt-get "installs" a chromium next to itself.
  const apt = '#!/bin/sh\n[ "$3" = install ] && printf "#!/bin/sh\\nexit 0\\n" > "${0%/*}/chromium" && /bin/chmod 755 "${0%/*}/chromium"\nexit 0\n';

  it.skipIf(!isRoot)('as another user, installs through a sudo that needs no password', () => {
    const tools = bin('sudo-ok', { 'apt-get': apt, sudo: '#!/bin/sh\n[ "$1" = -n ] || exit 9\nshift\n"$@"\n' });
    chmodSync(tools, 0o777); // this stand-in sudo does not elevate, so its apt-get writes as the user
    const result = run(call('m.ensureChromium({ log: () => {} })'), tools, true);
    expect(result, result.reason).toEqual({ path: join(tools, 'chromium') });
  });

  it.skipIf(!isRoot)('as another user, skips with the reason when sudo wants a password or is missing', () => {
    const locked = bin('sudo-locked', { 'apt-get': apt, sudo: '#!/bin/sh\necho "sudo: a password is required" >&2\nexit 1\n' });
    const refused = run(call('m.ensureChromium({ log: () => {} })'), locked, true);
    expect(refused.path).toBeUndefined();
    expect(refused.reason).toMatch(/'sudo -n' cannot run without a password here \(sudo: a password is required\); run 'sudo apt-get install chromium'/);
    const noSudo = bin('no-sudo', { 'apt-get': apt });
    expect(run(call('m.ensureChromium({ log: () => {} })'), noSudo, true).reason).toMatch(/sudo is missing/);
  });
});
