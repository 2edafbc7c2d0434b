import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Every example in examples/ runs offline, as a reader would run it (`npx tsx examples/NAME.ts`),
// and must exit 0; a new example is picked up without touching this file.
const root = join(import.meta.dirname, '..');
const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts')).sort();

describe('examples', () => {
  it('ships the documented examples', () => {
    expect(examples).toEqual(
      expect.arrayContaining(['ai-sdk-chat.ts', 'openai-agents-session.ts', 'langchain-history.ts', 'compress-chat-log.ts', 'forgetting-experiment.ts']),
    );
  });

  for (const file of examples) {
    it(`${file} runs offline and exits 0`, () => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join('examples', file)], {
        cwd: root,
        encoding: 'utf8',
        timeout: 240_000,
        env: { ...process.env, OPENAI_API_KEY: '' },
      });
      expect(r.status, `${file} failed:\n${r.stderr}\n${r.stdout}`).toBe(0);
      expect(r.stdout.trim().length).toBeGreaterThan(0);
    }, 300_000);
  }
});
