import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The README's offline snippets run as a reader would paste them, importing `opticmem` by its
// package name. Each is written inside the package (test-artifacts/, git-ignored) so the name
// resolves to the built dist/ through package.json exports, and run from an empty folder so its
// './.opticmem' store is fresh. A check after each snippet makes a wrong result fail the run.
const root = join(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

function snippetAfter(heading: string): string {
  const at = readme.indexOf(`\n## ${heading}\n`);
  if (at < 0) throw new Error(`README has no '## ${heading}' section`);
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!m) throw new Error(`README section '${heading}' has no ts snippet`);
  return m[1]!;
}

const dir = join(root, 'test-artifacts', 'readme');
// tsx's loader by path: `--import tsx` would be resolved from the empty folder the snippet runs in.
const tsxLoader = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const cwd = mkdtempSync(join(tmpdir(), 'opticmem-readme-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function runSnippet(name: string, source: string): { status: number | null; stdout: string; stderr: string } {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, source);
  return spawnSync(process.execPath, ['--import', tsxLoader, file], { cwd, encoding: 'utf8', timeout: 240_000, env: { ...process.env, OPENAI_API_KEY: '' } });
}

describe('README snippets', () => {
  it('"In ten lines" encodes two turns and reads them back', () => {
    const check = `\nif (!text.includes('08:15 ferry to Cacilhas') || !text.includes('4.95 euros')) { console.log('FAILED: ' + JSON.stringify(text)); process.exitCode = 1; }\n`;
    const r = runSnippet('in-ten-lines', snippetAfter('In ten lines') + check);
    expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
  }, 300_000);

  it('"Memory for agents" stores, recalls and builds a context within its budget', () => {
    const snippet = snippetAfter('Memory for agents');
    expect(snippet).toContain("Memory.open({ path: './.opticmem' })");
    const check = [
      '',
      "if (!(ctx.usedTokens > 0 && ctx.usedTokens <= 4000)) { console.log('FAILED: usedTokens ' + ctx.usedTokens); process.exitCode = 1; }",
      "if (!JSON.stringify(ctx.messages).includes('07:40 on 16 May')) { console.log('FAILED: the turn is not in the context'); process.exitCode = 1; }",
      "if (!Array.isArray(hits)) { console.log('FAILED: recall did not return a list'); process.exitCode = 1; }",
      '',
    ].join('\n');
    const r = runSnippet('memory-for-agents', snippet + check);
    expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
  }, 300_000);
});
