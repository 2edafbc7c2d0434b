import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `opticmem eval` as an installed copy runs it: the package as `npm pack` ships it, unpacked in a
// folder of its own (so no ../shared/data beside it), with the repo's installed dependencies.
const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'opticmem-cli-eval-'));
const installed = join(dir, 'node_modules', 'opticmem');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(installed, 'bin', 'opticmem.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 240_000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, OPTICMEM_DATA_DIR: '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('opticmem eval from an installed package', () => {
  beforeAll(() => {
    // `npm test` has built dist/; packing skips the prepare script that would build it again.
    const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' });
    expect(pack.status, pack.stderr).toBe(0);
    const { filename } = (JSON.parse(pack.stdout) as { filename: string }[])[0]!;
    mkdirSync(installed, { recursive: true });
    const untar = spawnSync('tar', ['-xzf', join(dir, filename), '-C', installed, '--strip-components=1'], { encoding: 'utf8' });
    expect(untar.status, untar.stderr).toBe(0);
    symlinkSync(join(root, 'node_modules'), join(installed, 'node_modules'), 'dir');
  });

  it('runs the forgetting experiment --quick on the shipped fixture and writes its results', () => {
    const out = join(dir, 'results');
    const r = cli(['eval', 'forgetting', '--quick', '--json', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { settings: { mode: string; fixture: boolean; data: string }; checkpoints: { policy: string; days: number }[] };
    expect(json.settings).toMatchObject({ mode: 'quick', fixture: true, data: expect.stringContaining('dated-conversation-en.json') });
    expect(json.checkpoints.length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/shared data folder missing/);
    for (const file of ['forgetting-quick.md', 'forgetting-quick.json', 'forgetting-quick-retention.png']) expect(existsSync(join(out, file)), file).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'forgetting-quick.json'), 'utf8'))).toEqual(json);
  });

  it('ships the fixtures every benchmark falls back to, and refuses an unknown benchmark with exit 2', () => {
    for (const file of ['conversation-en.json', 'conversation-zh.json', 'dated-conversation-en.json']) expect(existsSync(join(installed, 'test', 'fixtures', file)), file).toBe(true);
    const r = cli(['eval', 'speed']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/value 'speed' is invalid for argument 'benchmark'\. Allowed choices are compression, memory, forgetting/);
  });
});
