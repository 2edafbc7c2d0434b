import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createOnnxDecoder } from '../src/decoders/onnx/index.js';
import { tuneOnnxGraph } from '../src/decoders/onnx/graph-tuning.js';
import { resolveModelPaths } from '../src/decoders/onnx/model-assets.js';
import { loadOnnxRuntime } from '../src/internal/lazy.js';
import { makePage } from './support/make-page.js';

const paths = resolveModelPaths();

/** A deterministic image-like input in -1..1, mostly white (1) as text crops are. */
function sampleInput(dims: readonly number[]): Float32Array {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let seed = 7;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    data[i] = Math.max(-1, Math.min(1, 0.8 + (seed / 0x7fffffff - 0.5) * 1.5));
  }
  return data;
}

async function outputsOf(model: Uint8Array, dims: readonly number[]): Promise<Float32Array> {
  const ort = await loadOnnxRuntime();
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2 });
  try {
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', sampleInput(dims), [...dims]) };
    return (await session.run(feeds))[session.outputNames[0]!]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('ONNX graph tuning', () => {
  it.each([
    ['recognition', paths.recognition, [2, 3, 48, 320]],
    ['detection', paths.detection, [1, 3, 160, 160]],
  ] as const)('rewrites the shipped %s model and leaves its outputs unchanged', async (_role, path, dims) => {
    const shipped = readFileSync(path);
    const { bytes, report } = await tuneOnnxGraph(shipped);
    // PP-LCNetV3 has an affine block and a hard-swish after nearly every convolution.
    expect(report.affineIntoConv).toBeGreaterThan(20);
    expect(report.hardSwish).toBeGreaterThan(20);
    expect(report.affineIntoPointwise).toBeGreaterThan(5);
    expect(report.affineAsBatchNorm).toBeGreaterThan(5);
    expect(maxAbsDiff(await outputsOf(bytes, dims), await outputsOf(shipped, dims))).toBeLessThan(1e-4);
  });

  it('keeps the outputs of a model it was not written for (the MobileNetV3 angle classifier)', async () => {
    const cls = paths.recognition.replace(/ch_PP-OCRv4_rec_infer\.onnx$/, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
    const shipped = readFileSync(cls);
    const { bytes, report } = await tuneOnnxGraph(shipped);
    expect(report.constants).toBeGreaterThan(0);
    expect(maxAbsDiff(await outputsOf(bytes, [1, 3, 48, 192]), await outputsOf(shipped, [1, 3, 48, 192]))).toBeLessThan(1e-5);
  });

  it('rejects bytes that are not an ONNX model', async () => {
    await expect(tuneOnnxGraph(new TextEncoder().encode('not a model at all, just text'))).rejects.toThrow();
  });

  describe('through the decoder', () => {
    const tuned = createOnnxDecoder();
    const shipped = createOnnxDecoder({ tuneGraph: false });
    afterAll(async () => {
      await Promise.all([tuned.close(), shipped.close()]);
    });

    it('reads the same text with the same confidences as the shipped graphs, on both paths', async () => {
      const page = makePage(
        ['Optical memory keeps older turns as images of text.', 'Ferry at 08:15 on 4 April, three tickets, 4.95 euros.', { text: 'for (const x of items) total += x;', font: 'mono' }],
        { fontSize: 11, width: 520 },
      );
      for (const useGeometry of [true, false]) {
        const a = await tuned.decode({ png: page.png }, { useGeometry });
        const b = await shipped.decode({ png: page.png }, { useGeometry });
        expect(a.text).toBe(b.text);
        expect(a.lines.map((l) => l.box)).toEqual(b.lines.map((l) => l.box));
        a.lines.forEach((line, i) => expect(Math.abs(line.confidence - b.lines[i]!.confidence)).toBeLessThan(1e-4));
      }
    });

    it('rejects an unknown option value with a typed error', () => {
      expect(() => createOnnxDecoder({ tuneGraph: 'yes' as unknown as boolean })).toThrow(/tuneGraph/);
    });
  });
});
