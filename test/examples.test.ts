import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Every example in examples/ runs offline, as a reader would run it (`npx tsx examples/NAME.ts`),
// imports opticmem by its package name (resolved to the built dist/ through package.json
// exports; `npm test` builds first), checks the facts it shows and exits 1 when one is false.
// A new example is picked up without touching this file.
const root = join(import.meta.dirname, '..');
const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts')).sort();

describe('examples', () => {
  it('ships the documented examples', () => {
    expect(examples).toEqual(
      expect.arrayContaining(['ai-sdk-chat.ts', 'openai-agents-session.ts', 'langchain-history.ts', 'compress-chat-log.ts', 'forgetting-experiment.ts']),
    );
  });

  for (const file of examples) {
    it(`${file} imports the published entry points and checks what it shows`, () => {
      const source = readFileSync(join(root, 'examples', file), 'utf8');
      const specifiers = [...source.matchAll(/^import [^;]*? from '([^']+)';/gms)].map((m) => m[1]!);
      expect(specifiers.filter((s) => s.startsWith('.')), file).toEqual([]);
      expect(specifiers.some((s) => s === 'opticmem' || s.startsWith('opticmem/')), file).toBe(true);
      expect(source, file).toMatch(/process\.exitCode = 1/);
    });

    it(`${file} runs offline, every fact it checks holds, and exits 0`, () => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join('examples', file)], {
        cwd: root,
        encoding: 'utf8',
        timeout: 240_000,
        env: { ...process.env, OPENAI_API_KEY: '' },
      });
      expect(r.status, `${file} failed:\n${r.stderr}\n${r.stdout}`).toBe(0);
      expect(r.stdout).not.toMatch(/^FAILED: /m);
      expect(r.stdout.match(/^ok: /gm)?.length ?? 0, r.stdout).toBeGreaterThanOrEqual(2);
    }, 300_000);
  }
});
