/**
 * Aged-page benchmark: pages of every source in ../shared/data, drawn at Base 10x and 20x, are
 * aged down the ratio ladder (15x, 20x, 30x steps, chosen as ageing chooses them) by both of
 * ageing's strategies (downsample, rerender), and each step is read by the glyph-matching reader
 * and, on the first pages, by the OCR model, side by side. Rows report the glyph size left after
 * the reduction, so the table shows where two readings start to give the same pixels.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { PageGeometry } from '../../renderers/page.js';
import { targetFor } from '../../memory/ageing.js';
import { downsample, rerender } from '../../memory/page-shrink.js';
import { decode, encode } from '../../src/codec/codec.js';
import { editDistance, normalizeForFidelity } from '../../src/codec/fidelity.js';
import type { Decoder } from '../../src/decoders/decoder.js';
import { createGlyphDecoder } from '../../src/decoders/glyph/glyph-decoder.js';
import { createOnnxDecoder } from '../../src/decoders/onnx/index.js';
import { renderLineChart, writeChart } from '../lib/chart.js';
import { markdownTable } from '../lib/table.js';
import { SOURCES, sourceTurns } from './reader-benchmark.js';

export interface AgedBenchmarkOptions {
  readonly pages: number;
  /** Pages of each row the OCR model reads beside the glyph reader. */
  readonly modelPages: number;
  readonly drawn: readonly { readonly profile: string; readonly ratio: number }[];
  readonly steps: readonly number[];
  /** Sources to run (default: every source of ../shared/data). */
  readonly sources?: readonly string[];
  readonly outDir: string;
  readonly name: string;
  readonly log?: (line: string) => void;
}

export interface AgedRow {
  readonly source: string;
  readonly drawn: string;
  readonly step: number;
  readonly strategy: 'downsample' | 'rerender';
  readonly profile: string;
  readonly ratio: number;
  readonly glyphPx: number;
  readonly pages: number;
  readonly fidelity: number;
  readonly exactPages: number;
  /** Lines another reading explains as well (confidence below 1), and lines left unread. */
  readonly ambiguousLines: number;
  readonly unreadLines: number;
  readonly lines: number;
  readonly secondsPerPage: number;
  /** Seconds per page the step itself took (shrinking, or re-rendering). */
  readonly ageSecondsPerPage: number;
  readonly model?: { readonly pages: number; readonly fidelity: number; readonly secondsPerPage: number; readonly glyphSecondsPerPage: number };
}

interface Aged {
  readonly png: Uint8Array;
  readonly geometry: PageGeometry;
  readonly profile: string;
  readonly textTokens: number;
  readonly visualTokens: number;
  readonly sourceText: string;
  /** What the glyph reader read at the previous step (rerender draws this). */
  readonly read: string;
}

function fidelityParts(read: string, source: string): { edits: number; chars: number } {
  const ref = normalizeForFidelity(source);
  return { edits: Math.min(ref.length, editDistance(normalizeForFidelity(read), ref)), chars: ref.length };
}

async function readPages(pages: readonly Aged[], decoder: Decoder) {
  let edits = 0;
  let chars = 0;
  let exact = 0;
  let ambiguous = 0;
  let unread = 0;
  let lines = 0;
  const texts: string[] = [];
  // Only reading is timed (PNG decoding included), not the scoring below.
  let seconds = 0;
  for (const page of pages) {
    const t0 = performance.now();
    // A page matching cannot read at all (resampled twice) counts as read as nothing.
    const d = await decode(page.png, { decoder, geometry: page.geometry }).catch(() => ({ text: '', raw: { lines: page.geometry.lines.map(() => ({ text: '', confidence: 0 })) } }));
    seconds += (performance.now() - t0) / 1000;
    const f = fidelityParts(d.text, page.sourceText);
    const raw = (d as { raw?: { lines: readonly { text: string; confidence: number }[] } }).raw;
    edits += f.edits;
    chars += f.chars;
    if (f.edits === 0) exact++;
    for (const line of raw?.lines ?? []) {
      lines++;
      if (line.confidence === 0 && line.text === '') unread++;
      else if (line.confidence < 1) ambiguous++;
    }
    texts.push(d.text);
  }
  return { fidelity: 1 - edits / Math.max(1, chars), exact, ambiguous, unread, lines, texts, seconds };
}

export async function runAgedBenchmark(options: AgedBenchmarkOptions): Promise<AgedRow[]> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const rows: AgedRow[] = [];
  const glyph = createGlyphDecoder();
  const model = createOnnxDecoder();
  try {
    for (const source of SOURCES.filter((s) => !options.sources || options.sources.includes(s.name))) {
      const turns = await sourceTurns(source.name, source.lang === 'en' ? 900_000 : 400_000);
      if (turns.length === 0) {
        log(`${source.name}: not in ../shared/data, skipped`);
        continue;
      }
      for (const drawn of options.drawn) {
        const all = await encode(turns, { ratio: drawn.ratio, profile: drawn.profile });
        const pages = all.slice(0, Math.min(options.pages, Math.max(1, all.length - 1)));
        const start: Aged[] = pages.map((p) => ({ png: p.png, geometry: p.geometry, profile: p.profile, textTokens: p.textTokens, visualTokens: p.visualTokens, sourceText: p.sourceText, read: p.sourceText }));
        for (const strategy of ['downsample', 'rerender'] as const) {
          let current = start;
          for (const step of options.steps) {
            const t0 = performance.now();
            const next: Aged[] = [];
            for (const page of current) {
              const target = targetFor(page, { name: `${step}x`, minRetention: 0, ratio: step });
              if (target.kind !== 'shrink') {
                next.push(page);
                continue;
              }
              const made = strategy === 'rerender' ? await rerender(page.read, target.size) : await downsample(page.png, page.geometry, target.size);
              if (!made) {
                next.push(page);
                continue;
              }
              next.push({ ...page, png: made.png, geometry: made.geometry, profile: target.profile.name, visualTokens: target.tokens });
            }
            const ageSeconds = (performance.now() - t0) / 1000;
            if (next.every((p, i) => p === current[i])) {
              log(`${source.name} ${drawn.profile} ${drawn.ratio}x, ${strategy} to ${step}x: no page can shrink further`);
              continue;
            }
            const g = await readPages(next, glyph);
            current = next.map((p, i) => ({ ...p, read: g.texts[i]! }));
            const sample = next.slice(0, options.modelPages);
            const m = sample.length > 0 ? await readPages(sample, model) : undefined;
            const gs = sample.length > 0 ? await readPages(sample, glyph) : undefined;
            const row: AgedRow = {
              source: source.name,
              drawn: `${drawn.profile.replace('deepseek-ocr:', '')} ${drawn.ratio}x`,
              step,
              strategy,
              profile: [...new Set(next.map((p) => p.profile.replace('deepseek-ocr:', '')))].join('/'),
              ratio: next.reduce((a, p) => a + p.textTokens, 0) / next.reduce((a, p) => a + p.visualTokens, 0),
              glyphPx: next.reduce((a, p) => a + p.geometry.fontSize, 0) / next.length,
              pages: next.length,
              fidelity: g.fidelity,
              exactPages: g.exact,
              ambiguousLines: g.ambiguous,
              unreadLines: g.unread,
              lines: g.lines,
              secondsPerPage: g.seconds / next.length,
              ageSecondsPerPage: ageSeconds / next.length,
              ...(m && gs ? { model: { pages: sample.length, fidelity: m.fidelity, secondsPerPage: m.seconds / sample.length, glyphSecondsPerPage: gs.seconds / sample.length } } : {}),
            };
            rows.push(row);
            log(
              `${row.source} ${row.drawn} -> ${step}x ${strategy} (${row.profile}, ${row.ratio.toFixed(1)}x, ${row.glyphPx.toFixed(2)} px): glyph ${pct(row.fidelity)} ` +
                `${row.secondsPerPage.toFixed(2)} s/page, ${row.ambiguousLines} ambiguous, ${row.unreadLines} unread of ${row.lines} lines` +
                (row.model ? `; model ${pct(row.model.fidelity)} ${row.model.secondsPerPage.toFixed(2)} s/page` : ''),
            );
          }
        }
      }
    }
  } finally {
    await Promise.all([glyph.close(), model.close()]);
  }
  await writeAgedResults(options, rows);
  return rows;
}

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

async function writeAgedResults(options: AgedBenchmarkOptions, rows: readonly AgedRow[]): Promise<void> {
  await mkdir(options.outDir, { recursive: true });
  const table = markdownTable(
    ['source', 'drawn', 'step', 'strategy', 'canvas', 'achieved', 'glyph px', 'pages', 'fidelity', 'exact pages', 'ambiguous lines', 'unread lines', 's/page glyph', 'model fidelity', 'model s/page', 'model / glyph time'],
    rows.map((r) => [
      r.source,
      r.drawn,
      `${r.step}x`,
      r.strategy,
      r.profile,
      `${r.ratio.toFixed(1)}x`,
      r.glyphPx.toFixed(2),
      String(r.pages),
      pct(r.fidelity),
      String(r.exactPages),
      `${r.ambiguousLines} / ${r.lines}`,
      String(r.unreadLines),
      r.secondsPerPage.toFixed(3),
      r.model ? `${pct(r.model.fidelity)} (${r.model.pages} p.)` : '',
      r.model ? r.model.secondsPerPage.toFixed(2) : '',
      r.model ? `${(r.model.secondsPerPage / Math.max(1e-9, r.model.glyphSecondsPerPage)).toFixed(0)}x` : '',
    ]),
  );
  // Where ambiguity begins: lines another reading explains as well, by glyph size after reduction.
  const buckets = [2, 3, 3.5, 4, 4.5, 5, 6, 8, 100];
  const byPx = buckets.slice(0, -1).map((lo, i) => {
    const hi = buckets[i + 1]!;
    const inBucket = rows.filter((r) => r.strategy === 'downsample' && r.glyphPx >= lo && r.glyphPx < hi);
    const lines = inBucket.reduce((a, r) => a + r.lines, 0);
    const ambiguous = inBucket.reduce((a, r) => a + r.ambiguousLines, 0);
    const unread = inBucket.reduce((a, r) => a + r.unreadLines, 0);
    const fid = inBucket.reduce((a, r) => a + r.fidelity * r.pages, 0) / Math.max(1, inBucket.reduce((a, r) => a + r.pages, 0));
    return { lo, hi, rows: inBucket.length, lines, ambiguous, unread, fid };
  }).filter((b) => b.rows > 0);
  const ambiguityTable = markdownTable(
    ['glyph px after reduction', 'rows', 'lines', 'ambiguous lines', 'unread lines', 'fidelity (pages pooled)'],
    byPx.map((b) => [`${b.lo}–${b.hi === 100 ? '∞' : b.hi}`, String(b.rows), String(b.lines), `${b.ambiguous} (${pct(b.ambiguous / Math.max(1, b.lines))})`, String(b.unread), pct(b.fid)]),
  );
  const md = [
    '# Aged-page benchmark',
    '',
    `Command: \`npm run eval:aged\`. Machine: ${process.arch}, ${cpus().length} CPU cores, Node ${process.version}.`,
    'Pages of each source are drawn at the `drawn` mode and ratio, then aged step by step down the ladder (each step picks its canvas as `memory.age()` does) by downsampling (ageing\'s resampler, from the page as drawn) or by re-rendering the text the glyph reader read at the step before.',
    'Fidelity is against the source text, so errors carry down the ladder. `ambiguous lines`: the reader found a second reading giving the same stored pixels and returned the first (confidence 0.5). `unread lines`: lines matching could not explain (the OCR model reads those in `createLocalDecoder`). `model`: PP-OCRv4 with the redraw check on the first pages of the row; `model / glyph time` compares the two readers on those same pages. PNG decoding is included.',
    '',
    table,
    '',
    '## Where ambiguity begins (downsampled rows)',
    '',
    ambiguityTable,
    '',
  ].join('\n');
  await writeFile(join(options.outDir, `${options.name}.md`), md);
  await writeFile(join(options.outDir, `${options.name}.json`), JSON.stringify(rows, null, 2) + '\n');
  const down = rows.filter((r) => r.strategy === 'downsample').sort((a, b) => a.glyphPx - b.glyphPx);
  await writeChart(
    join(options.outDir, `${options.name}-ambiguity.png`),
    await renderLineChart({
      title: 'Aged pages read by glyph matching: fidelity and ambiguous lines vs glyph size',
      xLabel: 'glyph px after reduction',
      yLabel: '%',
      series: [
        { name: 'fidelity (glyph reader)', style: 'points', points: down.map((r) => ({ x: r.glyphPx, y: r.fidelity * 100 })) },
        { name: 'ambiguous lines', style: 'points', points: down.map((r) => ({ x: r.glyphPx, y: (100 * r.ambiguousLines) / Math.max(1, r.lines) })) },
        { name: 'fidelity (OCR model, same pages)', style: 'points', points: down.filter((r) => r.model).map((r) => ({ x: r.glyphPx, y: r.model!.fidelity * 100 })) },
      ],
      yDomain: [0, 100],
    }),
  );
  process.stdout.write(md + '\n');
}
