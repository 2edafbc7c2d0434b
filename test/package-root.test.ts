import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('package root', () => {
  it('imports without loading canvas, onnxruntime or LanceDB, and exports the public API', () => {
    // A fresh process shows what importing the root really loads.
    const script = `
      const m = await import(${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'src', 'index.js'))});
      const { createRequire } = await import('node:module');
      const loaded = Object.keys(createRequire(import.meta.url).cache ?? {});
      const native = loaded.filter((p) => /onnxruntime|@napi-rs|@lancedb/.test(p));
      console.log(JSON.stringify({ native, names: Object.keys(m).sort() }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const { native, names } = JSON.parse(r.stdout) as { native: string[]; names: string[] };
    expect(native).toEqual([]);
    for (const name of ['Memory', 'encode', 'decode', 'createOnnxDecoder', 'createOpenAIDecoder', 'createOpenAIEmbedder', 'getProfile', 'OpticMemError', 'InvalidInputError', 'createEbbinghausCurve', 'createFsrsCurve']) {
      expect(names).toContain(name);
    }
  });
});
