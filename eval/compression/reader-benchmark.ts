/**
 * Reader benchmark: the glyph-matching reader on pages planned from every source in
 * ../shared/data, per source, DeepSeek-OCR mode and target ratio (10x, 20x, 25x), at least
 * `pages` pages a cell where the source is long enough; pages with ±4 levels of noise on every
 * pixel; and the OCR model (PP-OCRv4 with the redraw check) side by side on the same Base 10x
 * pages, so speed and fidelity are compared in one run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { decode, encode, type EncodedPage } from '../../src/codec/codec.js';
import { editDistance, normalizeForFidelity } from '../../src/codec/fidelity.js';
import type { Decoder } from '../../src/decoders/decoder.js';
import { createGlyphDecoder } from '../../src/decoders/glyph/glyph-decoder.js';
import { grayFast } from '../../src/decoders/glyph/gray-png.js';
import { createOnnxDecoder } from '../../src/decoders/onnx/index.js';
import { encodeGrayPng, GEOMETRY_KEYWORD } from '../../renderers/png.js';
import type { RenderTurn } from '../../renderers/text-layout.js';
import { renderLineChart, writeChart } from '../lib/chart.js';
import { loadDataset, type DatasetName } from '../lib/datasets.js';
import { markdownTable } from '../lib/table.js';

export interface ReaderBenchmarkOptions {
  readonly pages: number;
  readonly modes: readonly string[];
  readonly ratios: readonly number[];
  /** Pages per source the OCR model reads beside the glyph reader (Base, 10x). */
  readonly modelPages: number;
  readonly outDir: string;
  readonly name: string;
  readonly log?: (line: string) => void;
}

export interface ReaderRow {
  readonly source: string;
  readonly profile: string;
  readonly reader: string;
  readonly targetRatio: number;
  readonly ratio: number;
  readonly fontPx: number;
  readonly pages: number;
  readonly fidelity: number;
  readonly exactPages: number;
  /** Whole pages, PNG decoding included; `cold` counts building the glyph index of each new size. */
  readonly secondsPerPageCold: number;
  readonly secondsPerPageWarm: number;
}

export const SOURCES: readonly { name: DatasetName; lang: 'en' | 'zh' }[] = [
  { name: 'locomo', lang: 'en' },
  { name: 'oasst', lang: 'en' },
  { name: 'memorybank-en', lang: 'en' },
  { name: 'kdconv', lang: 'zh' },
  { name: 'memorybank-cn', lang: 'zh' },
];

export async function sourceTurns(name: DatasetName, maxChars: number): Promise<RenderTurn[]> {
  const out: RenderTurn[] = [];
  let chars = 0;
  // Every OASST message, not only the best-ranked path: more of the source's text, none repeated.
  for (const conv of await loadDataset(name, { oasstReplies: 'all' })) {
    for (const t of conv.turns) {
      if (!t.content.trim()) continue;
      out.push({ role: t.role, content: t.content, ...(t.speaker ? { label: `${t.speaker}:` } : {}) });
      chars += t.content.length;
      if (chars >= maxChars) return out;
    }
  }
  return out;
}

async function readAll(pages: readonly EncodedPage[], decoder: Decoder, pngOf: (p: EncodedPage) => Uint8Array = (p) => p.png) {
  let edits = 0;
  let chars = 0;
  let exact = 0;
  // Only reading is timed (PNG decoding included), not the scoring below.
  let seconds = 0;
  for (const page of pages) {
    const png = pngOf(page);
    const t0 = performance.now();
    const d = await decode(png, { decoder });
    seconds += (performance.now() - t0) / 1000;
    const ref = normalizeForFidelity(page.sourceText);
    const e = Math.min(ref.length, editDistance(normalizeForFidelity(d.text), ref));
    edits += e;
    chars += ref.length;
    if (e === 0) exact++;
  }
  return { fidelity: 1 - edits / Math.max(1, chars), exact, seconds };
}

function noisy(page: EncodedPage, seed: number): Uint8Array {
  const gray = grayFast(page.png)!;
  let a = seed >>> 0;
  const rnd = () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 4294967296;
  };
  const data = gray.data.map((v) => Math.max(0, Math.min(255, v + Math.round(rnd() * 8) - 4)));
  return encodeGrayPng(data, gray.width, gray.height, { [GEOMETRY_KEYWORD]: JSON.stringify(page.geometry) });
}

export async function runReaderBenchmark(options: ReaderBenchmarkOptions): Promise<ReaderRow[]> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const rows: ReaderRow[] = [];
  const glyph = createGlyphDecoder();
  const model = createOnnxDecoder();
  const started = performance.now();
  try {
    for (const source of SOURCES) {
      const turns = await sourceTurns(source.name, source.lang === 'en' ? 900_000 : 400_000);
      if (turns.length === 0) {
        log(`${source.name}: not in ../shared/data, skipped`);
        continue;
      }
      for (const profile of options.modes) {
        for (const targetRatio of options.ratios) {
          const all = await encode(turns, { ratio: targetRatio, profile });
          // Full pages only: the last page of a stream holds what is left over.
          const pages = all.slice(0, Math.min(options.pages, Math.max(1, all.length - 1)));
          const base = {
            source: source.name,
            profile,
            targetRatio,
            ratio: pages.reduce((a, p) => a + p.textTokens, 0) / pages.reduce((a, p) => a + p.visualTokens, 0),
            fontPx: pages.reduce((a, p) => a + p.geometry.fontSize, 0) / pages.length,
            pages: pages.length,
          };
          const cold = await readAll(pages, glyph);
          const warm = await readAll(pages, glyph);
          rows.push({ ...base, reader: 'glyph', fidelity: cold.fidelity, exactPages: cold.exact, secondsPerPageCold: cold.seconds / pages.length, secondsPerPageWarm: warm.seconds / pages.length });
          const line = `${source.name} ${profile} ${targetRatio}x -> ${base.ratio.toFixed(1)}x @ ${base.fontPx.toFixed(2)}px, ${pages.length} pages: glyph ${(cold.fidelity * 100).toFixed(2)}% ${(cold.seconds / pages.length).toFixed(3)} s/page cold, ${(warm.seconds / pages.length).toFixed(3)} warm`;
          if (targetRatio === 10 && profile === 'deepseek-ocr:base') {
            const n = await readAll(pages, glyph, (p) => noisy(p, 17 + p.textTokens));
            rows.push({ ...base, reader: 'glyph, ±4 noise', fidelity: n.fidelity, exactPages: n.exact, secondsPerPageCold: n.seconds / pages.length, secondsPerPageWarm: n.seconds / pages.length });
            const sample = pages.slice(0, options.modelPages);
            if (sample.length > 0) {
              const g = await readAll(sample, glyph);
              const m = await readAll(sample, model);
              rows.push({ ...base, pages: sample.length, reader: 'glyph (same pages as model)', fidelity: g.fidelity, exactPages: g.exact, secondsPerPageCold: g.seconds / sample.length, secondsPerPageWarm: g.seconds / sample.length });
              rows.push({ ...base, pages: sample.length, reader: 'model + redraw check', fidelity: m.fidelity, exactPages: m.exact, secondsPerPageCold: m.seconds / sample.length, secondsPerPageWarm: m.seconds / sample.length });
              log(`${line}; noise ${(n.fidelity * 100).toFixed(2)}%; model ${(m.fidelity * 100).toFixed(2)}% ${(m.seconds / sample.length).toFixed(2)} s/page (${(m.seconds / Math.max(1e-9, g.seconds)).toFixed(0)}x the glyph reader's time)`);
              continue;
            }
          }
          log(`${line}  ${((performance.now() - started) / 1000).toFixed(0)}s`);
        }
      }
    }
  } finally {
    await Promise.all([glyph.close(), model.close()]);
  }
  await writeReaderResults(options, rows);
  return rows;
}

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

async function writeReaderResults(options: ReaderBenchmarkOptions, rows: readonly ReaderRow[]): Promise<void> {
  await mkdir(options.outDir, { recursive: true });
  const table = markdownTable(
    ['source', 'profile', 'reader', 'target', 'achieved', 'font px', 'pages', 'exact pages', 'fidelity', 's/page cold', 's/page warm', 'pages/s warm'],
    rows.map((r) => [
      r.source,
      r.profile,
      r.reader,
      `${r.targetRatio}x`,
      `${r.ratio.toFixed(2)}x`,
      r.fontPx.toFixed(2),
      String(r.pages),
      String(r.exactPages),
      pct(r.fidelity),
      r.secondsPerPageCold.toFixed(3),
      r.secondsPerPageWarm.toFixed(3),
      (1 / r.secondsPerPageWarm).toFixed(1),
    ]),
  );
  const md = [
    '# Reader benchmark',
    '',
    `Command: \`npm run eval:reader\`. Machine: ${process.arch}, ${cpus().length} CPU cores, Node ${process.version}.`,
    'Text: each source of ../shared/data on its own pages. Fidelity = 1 - character edit distance / reference length after whitespace normalisation, pooled over the pages of a row; exact pages read back with no edit.',
    '`cold`: one pass over the row\'s pages in a process that has read the rows before it, so a font size met for the first time pays for drawing its glyph index; `warm`: the same pages again. PNG decoding is included.',
    '`glyph, ±4 noise`: the same pages with every pixel moved by a random -4..+4 levels. `model + redraw check`: the PP-OCRv4 reader on the first pages of the row, beside the glyph reader on the same pages.',
    '',
    table,
    '',
  ].join('\n');
  await writeFile(join(options.outDir, `${options.name}.md`), md);
  await writeFile(join(options.outDir, `${options.name}.json`), JSON.stringify(rows, null, 2) + '\n');
  const glyphRows = rows.filter((r) => r.reader === 'glyph');
  const series = [...new Set(glyphRows.map((r) => `${r.source}|${r.profile}`))].map((key) => {
    const [source, profile] = key.split('|');
    return {
      name: `${source} ${profile!.replace('deepseek-ocr:', '')}`,
      points: glyphRows.filter((r) => r.source === source && r.profile === profile).map((r) => ({ x: r.ratio, y: r.fidelity * 100 })).sort((a, b) => a.x - b.x),
    };
  });
  await writeChart(
    join(options.outDir, `${options.name}-fidelity.png`),
    await renderLineChart({ title: 'Glyph-matching reader: fidelity vs compression, per source and mode', xLabel: 'compression (text tokens / visual tokens)', yLabel: 'fidelity (%)', series, yDomain: [90, 100] }),
  );
  process.stdout.write(md + '\n');
}
