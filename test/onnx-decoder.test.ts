import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxDecoder, type OnnxDecoderOptions } from '../src/decoders/onnx/index.js';
import type { Decoder } from '../src/decoders/decoder.js';
import { fixConfusions } from '../src/decoders/onnx/confusions.js';
import { ctcGreedyDecode } from '../src/decoders/onnx/ctc.js';
import { readingOrder } from '../src/decoders/onnx/detector.js';
import { resize } from '../src/decoders/onnx/gray-image.js';
import { InvalidInputError, MissingGeometryError, ModelLoadError } from '../src/errors.js';
import { charAccuracy, describeDecoderConformance } from './support/decoder-conformance.js';
import { hasTestFont, makePage } from './support/make-page.js';

// After close() the ONNX decoder loads its sessions again on the next decode.
describeDecoderConformance('onnx-ppocrv4', () => createOnnxDecoder(), { pathWithGeometry: 'geometry', afterClose: 'reopens', readsText: true });

const ENGLISH = [
  'Optical memory keeps older turns of a conversation as images of text.',
  'Each page is read back line by line when the agent needs the details again.',
  'The meeting with Dr. Alvarez was moved to Friday, 9 May, at 10:45 in room 204.',
  'She said the budget was tight but the schedule could still work if we started early.',
  'Please summarise the three options and recommend one, with a short reason for each.',
  'Prices rose by 3.5% in March; analysts expect them to fall again before the summer.',
  'You can reach the support team by email or by phone between 8 am and 6 pm on weekdays.',
  'The library closes early on public holidays, so return the books by Thursday evening.',
];

describe('ONNX decoder (PP-OCRv4, real models)', () => {
  let decoder: Decoder;
  beforeAll(() => {
    decoder = createOnnxDecoder();
  });
  afterAll(async () => {
    await decoder.close();
  });

  const english = makePage(ENGLISH, { fontSize: 12, width: 640 });

  it('reads English lines at 12 px with at least 99.5% character accuracy, one line per geometry line', async () => {
    const out = await decoder.decode({ png: english.png });
    expect(out.path).toBe('geometry');
    expect(out.lines).toHaveLength(english.geometry.lines.length);
    expect(charAccuracy(out.text, ENGLISH.join('\n'))).toBeGreaterThanOrEqual(0.995);
    out.lines.forEach((line, i) => {
      expect(line.box).toEqual({ x: english.geometry.lines[i]!.x, y: english.geometry.lines[i]!.y, width: english.geometry.lines[i]!.width, height: english.geometry.lines[i]!.height });
      expect(line.text).toBe(line.text.trim());
      expect(line.confidence).toBeGreaterThan(0.8);
    });
  });

  it('reads a line of code with indentation and symbols', async () => {
    const code = 'if (items[i] !== null && count >= 10) { total += price * 2; } // ok';
    const page = makePage([{ text: 'function total(items) {', font: 'mono' }, { text: code, font: 'mono', indent: 30 }], { fontSize: 12, width: 640 });
    const out = await decoder.decode({ png: page.png });
    expect(out.lines).toHaveLength(2);
    // Indentation is position, not characters: the box keeps it, the text does not.
    expect(out.lines[1]!.box.x).toBe(page.geometry.lines[1]!.x);
    expect(charAccuracy(out.lines[1]!.text, code)).toBeGreaterThanOrEqual(0.95);
    for (const symbol of ['[', ']', '!==', '&&', '>=', '{', '}', '+=', '*', ';', '//']) expect(out.lines[1]!.text).toContain(symbol);
  });

  it('reads a Chinese line', async () => {
    expect(hasTestFont('cjk')).toBe(true);
    const chinese = '京都的春天很美，樱花盛开。我们明天早上九点出发。';
    const page = makePage([{ text: chinese, font: 'cjk' }], { fontSize: 12, width: 480 });
    const out = await decoder.decode({ png: page.png });
    expect(charAccuracy(out.text, chinese)).toBeGreaterThanOrEqual(0.9);
  });

  it('falls back to text detection for a PNG without geometry and reads at least 95%', async () => {
    const out = await decoder.decode({ png: english.bare });
    expect(out.path).toBe('detection');
    expect(out.lines.length).toBe(ENGLISH.length);
    expect(charAccuracy(out.text, ENGLISH.join('\n'))).toBeGreaterThanOrEqual(0.95);
  });

  it('runs detection when asked to ignore embedded geometry', async () => {
    const page = makePage(ENGLISH.slice(0, 2), { fontSize: 12, width: 640 });
    const out = await decoder.decode({ png: page.png }, { useGeometry: false });
    expect(out.path).toBe('detection');
    expect(charAccuracy(out.text, ENGLISH.slice(0, 2).join('\n'))).toBeGreaterThanOrEqual(0.95);
  });

  it('uses geometry passed alongside a bare PNG', async () => {
    const page = makePage(ENGLISH.slice(0, 1), { fontSize: 12, width: 640 });
    const out = await decoder.decode({ png: page.bare, geometry: page.geometry });
    expect(out.path).toBe('geometry');
    expect(charAccuracy(out.text, ENGLISH[0]!)).toBeGreaterThanOrEqual(0.97);
  });

  it('throws MissingGeometryError when geometry is required but absent', async () => {
    const error = await decoder.decode({ png: english.bare }, { useGeometry: true }).catch((e: unknown) => e);
    expect(MissingGeometryError.isInstance(error)).toBe(true);
  });

  it('serves concurrent decodes one at a time, each with its own result', async () => {
    const a = makePage(ENGLISH.slice(2, 3), { fontSize: 12, width: 640 });
    const b = makePage(ENGLISH.slice(3, 4), { fontSize: 12, width: 640 });
    const [ra, rb] = await Promise.all([decoder.decode({ png: a.png }), decoder.decode({ png: b.png })]);
    expect(charAccuracy(ra.text, ENGLISH[2]!)).toBeGreaterThanOrEqual(0.97);
    expect(charAccuracy(rb.text, ENGLISH[3]!)).toBeGreaterThanOrEqual(0.97);
  });

  it('reports a missing model file as ModelLoadError naming the option to fix', async () => {
    const broken = createOnnxDecoder({ modelPaths: { recognition: '/nonexistent/rec.onnx' } });
    const error = await broken.decode({ png: english.png }).catch((e: unknown) => e);
    expect(ModelLoadError.isInstance(error)).toBe(true);
    expect((error as ModelLoadError).message).toContain('modelPaths.recognition');
    await broken.close();
  });

  it('reports a file that is not an ONNX model as ModelLoadError', async () => {
    const broken = createOnnxDecoder({ modelPaths: { recognition: new URL(import.meta.url).pathname } });
    const error = await broken.decode({ png: english.png }).catch((e: unknown) => e);
    expect(ModelLoadError.isInstance(error)).toBe(true);
    await broken.close();
  });

  it('reports a dictionary that does not match the model as ModelLoadError', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opticmem-dict-'));
    const dictionary = join(dir, 'keys.txt');
    writeFileSync(dictionary, 'a\nb\nc\n');
    const broken = createOnnxDecoder({ modelPaths: { dictionary } });
    const error = await broken.decode({ png: english.png }).catch((e: unknown) => e);
    expect(ModelLoadError.isInstance(error)).toBe(true);
    expect((error as ModelLoadError).message).toContain('modelPaths.dictionary');
    await broken.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rejects invalid options with InvalidInputError', () => {
    expect(() => createOnnxDecoder({ threads: 0 })).toThrow(InvalidInputError);
    expect(() => createOnnxDecoder({ threds: 2 } as OnnxDecoderOptions)).toThrow(InvalidInputError);
  });
});

describe('ONNX decoder building blocks', () => {
  it('greedy CTC merges repeats, drops blanks, keeps doubled letters split by a blank', () => {
    const charset = ['', 'a', 'b'];
    // Steps: a a blank a b b blank -> "aab"
    const best = [1, 1, 0, 1, 2, 2, 0];
    const probs = new Float32Array(best.length * 3);
    best.forEach((c, t) => {
      probs.fill(0.05, t * 3, t * 3 + 3);
      probs[t * 3 + c] = 0.9;
    });
    const out = ctcGreedyDecode(probs, 0, best.length, 3, charset);
    expect(out.text).toBe('aab');
    expect(out.steps).toEqual([0, 3, 4]);
    expect(out.confidences.every((c) => Math.abs(c - 0.9) < 1e-6)).toBe(true);
  });

  it('repairs number and quote confusions without touching CJK punctuation', () => {
    expect(fixConfusions('Defaults to 1ooo, not 5oo0.')).toBe('Defaults to 1000, not 5000.');
    expect(fixConfusions('room 4B and 2od')).toBe('room 4B and 2od');
    expect(fixConfusions('if （a）{ b′ }')).toBe("if (a){ b' }");
    expect(fixConfusions('京都很美，樱花盛开（四月）')).toBe('京都很美，樱花盛开（四月）');
  });

  it('orders detected boxes in rows, top to bottom and left to right', () => {
    const rows = readingOrder([
      { x: 200, y: 31, width: 80, height: 14 },
      { x: 10, y: 2, width: 90, height: 14 },
      { x: 10, y: 30, width: 150, height: 14 },
      { x: 120, y: 3, width: 60, height: 14 },
    ]);
    expect(rows.map((r) => r.map((b) => b.x))).toEqual([
      [10, 120],
      [10, 200],
    ]);
  });

  it('reads a two-column page column by column, across the gutter', () => {
    const rows = readingOrder([
      { x: 530, y: 2, width: 400, height: 14 },
      { x: 10, y: 2, width: 480, height: 14 },
      { x: 10, y: 18, width: 300, height: 14 },
      { x: 530, y: 18, width: 420, height: 14 },
      { x: 10, y: 34, width: 470, height: 14 },
      { x: 530, y: 34, width: 200, height: 14 },
    ]);
    expect(rows.map((r) => r.map((b) => [b.x, b.y]))).toEqual([[[10, 2]], [[10, 18]], [[10, 34]], [[530, 2]], [[530, 18]], [[530, 34]]]);
  });

  it('resizes without aliasing when shrinking and keeps flat regions flat when enlarging', () => {
    // Point sampling would turn 1 px stripes into solid black or white; a filter gives grey.
    const stripes = { width: 8, height: 1, data: Uint8Array.from([0, 255, 0, 255, 0, 255, 0, 255]) };
    for (const v of resize(stripes, 2, 1).data) {
      expect(v).toBeGreaterThan(80);
      expect(v).toBeLessThan(175);
    }
    const flat = { width: 3, height: 2, data: new Uint8Array(6).fill(200) };
    expect(Array.from(resize(flat, 9, 6).data).every((v) => Math.abs(v - 200) < 1e-3)).toBe(true);
  });
});
