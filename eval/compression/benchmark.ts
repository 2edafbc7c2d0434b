/**
 * Compression benchmark: fidelity of the local decoder vs compression ratio, over DeepSeek-OCR
 * modes, fonts and languages, on real chat text (../shared/data when present, the repo's
 * fixtures otherwise). Three readers run side by side on the same pages of the Base/sans slice:
 * the default (line geometry -> recognition, each line proven by redrawing it), the recognition
 * model alone on the same line crops, and the generic path (text detection -> recognition).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decode, encode, type EncodedPage } from '../../src/codec/codec.js';
import { editDistance, normalizeForFidelity } from '../../src/codec/fidelity.js';
import { createOnnxDecoder } from '../../src/decoders/onnx/index.js';
import type { Decoder } from '../../src/decoders/decoder.js';
import { renderPage } from '../../renderers/page-renderer.js';
import { renderLineChart, writeChart } from '../lib/chart.js';
import { markdownTable } from '../lib/table.js';
import { DEEPSEEK_OCR_FOX } from './paper-points.js';
import { loadChatStreams, type ChatStreams } from './samples.js';

export interface CompressionBenchmarkOptions {
  readonly quick: boolean;
  readonly json: boolean;
  readonly outDir: string;
  readonly log?: (line: string) => void;
}

/** 'redraw': layout-aware with the redraw check (the default); 'model': the same crops, model alone; 'detection': det + rec. */
export type ReaderName = 'redraw' | 'model' | 'detection';

export interface ConfigResult {
  readonly lang: 'en' | 'zh';
  readonly profile: string;
  readonly font: 'sans' | 'mono';
  readonly decoder: ReaderName;
  readonly targetRatio: number;
  readonly pages: number;
  readonly textTokens: number;
  readonly visualTokens: number;
  readonly ratio: number;
  readonly fontPx: number;
  readonly fidelity: number;
  readonly decodeSecondsPerPage: number;
}

export interface SpeedResult {
  readonly what: string;
  readonly pages: number;
  readonly seconds: number;
  readonly pagesPerSecond: number;
}

const FULL = {
  ratios: [5, 8, 10, 12, 15, 20, 25],
  modes: ['deepseek-ocr:tiny', 'deepseek-ocr:small', 'deepseek-ocr:base', 'deepseek-ocr:large', 'deepseek-ocr:gundam'],
  fonts: ['sans', 'mono'] as const,
};
const QUICK = { ratios: [10, 20], modes: ['deepseek-ocr:small', 'deepseek-ocr:base'], fonts: ['sans'] as const };

async function measurePages(
  pages: readonly EncodedPage[],
  decoder: Decoder,
  useGeometry: boolean,
): Promise<{ edits: number; refChars: number; ms: number }> {
  let edits = 0;
  let refChars = 0;
  let ms = 0;
  for (const page of pages) {
    const t0 = performance.now();
    const d = await decode(page.png, { decoder, ...(useGeometry ? { geometry: page.geometry } : { useGeometry: false }) });
    ms += performance.now() - t0;
    const ref = normalizeForFidelity(page.sourceText);
    edits += Math.min(ref.length, editDistance(normalizeForFidelity(d.text), ref));
    refChars += ref.length;
  }
  return { edits, refChars, ms };
}

interface Reader {
  readonly name: ReaderName;
  readonly decoder: Decoder;
  readonly useGeometry: boolean;
}

async function runConfig(
  streams: ChatStreams,
  lang: 'en' | 'zh',
  profile: string,
  font: 'sans' | 'mono',
  ratio: number,
  pagesPerConfig: number,
  readers: readonly Reader[],
): Promise<ConfigResult[]> {
  const all = await encode(streams[lang].turns, { ratio, profile, font });
  // The stream is longer than what fits, so the first pages are full pages; the last is not.
  const pages = all.slice(0, Math.min(pagesPerConfig, Math.max(1, all.length - 1)));
  const base = {
    lang,
    profile,
    font,
    targetRatio: ratio,
    pages: pages.length,
    textTokens: pages.reduce((a, p) => a + p.textTokens, 0),
    visualTokens: pages.reduce((a, p) => a + p.visualTokens, 0),
    fontPx: pages[0]!.geometry.fontSize,
  };
  const out: ConfigResult[] = [];
  for (const reader of readers) {
    const m = await measurePages(pages, reader.decoder, reader.useGeometry);
    out.push({
      ...base,
      decoder: reader.name,
      ratio: base.textTokens / base.visualTokens,
      fidelity: 1 - m.edits / m.refChars,
      decodeSecondsPerPage: m.ms / 1000 / pages.length,
    });
  }
  return out;
}

async function measureSpeed(streams: ChatStreams, readers: readonly Reader[], quick: boolean): Promise<SpeedResult[]> {
  const out: SpeedResult[] = [];
  for (const ratio of [10, 20]) {
    const pages = await encode(streams.en.turns, { ratio, profile: 'deepseek-ocr:base' });
    const sample = pages.slice(0, Math.max(1, Math.min(pages.length - 1, quick ? 2 : 4)));
    const renderRounds = quick ? 20 : 100;
    // Warm: glyphs of a new size are drawn into the atlas on first use.
    for (const p of sample) await renderPage(p.turns, { ...p.geometry, font: 'auto' });
    const t0 = performance.now();
    for (let i = 0; i < renderRounds; i++) {
      const p = sample[i % sample.length]!;
      await renderPage(p.turns, { ...p.geometry, font: 'auto' });
    }
    const renderS = (performance.now() - t0) / 1000;
    out.push({ what: `render 1024x1024 page at ${ratio}x`, pages: renderRounds, seconds: renderS, pagesPerSecond: renderRounds / renderS });
    for (const reader of readers) {
      const m = await measurePages(sample, reader.decoder, reader.useGeometry);
      out.push({
        what: `decode 1024x1024 page at ${ratio}x (${READER_LABEL[reader.name]})`,
        pages: sample.length,
        seconds: m.ms / 1000,
        pagesPerSecond: sample.length / (m.ms / 1000),
      });
    }
  }
  return out;
}

const READER_LABEL: Record<ReaderName, string> = {
  redraw: 'layout + redraw check',
  model: 'layout, model alone',
  detection: 'det + rec',
};

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

export async function runCompressionBenchmark(options: CompressionBenchmarkOptions): Promise<{ results: ConfigResult[]; speed: SpeedResult[] }> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const grid = options.quick ? QUICK : FULL;
  const pagesPerConfig = options.quick ? 1 : 3;
  const streams = await loadChatStreams();
  log(`compression benchmark: en from ${streams.en.sources.join(', ')}; zh from ${streams.zh.sources.join(', ')}`);
  const withRedraw = createOnnxDecoder();
  const modelAlone = createOnnxDecoder({ redrawCheck: false });
  const readers: Reader[] = [
    { name: 'redraw', decoder: withRedraw, useGeometry: true },
    { name: 'model', decoder: modelAlone, useGeometry: true },
    { name: 'detection', decoder: modelAlone, useGeometry: false },
  ];
  const results: ConfigResult[] = [];
  const started = performance.now();
  let speed: SpeedResult[] = [];
  try {
    const total = 2 * (grid.modes.length + grid.fonts.length - 1) * grid.ratios.length;
    let done = 0;
    for (const lang of ['en', 'zh'] as const) {
      for (const profile of grid.modes) {
        for (const font of grid.fonts) {
          // Fonts are compared on Base only; decoding every mode twice would double the run.
          if (font !== 'sans' && profile !== 'deepseek-ocr:base') continue;
          for (const ratio of grid.ratios) {
            // All three readers on the Base/sans slice, where the comparison is cleanest.
            const slice = profile === 'deepseek-ocr:base' && font === 'sans';
            const r = await runConfig(streams, lang, profile, font, ratio, pagesPerConfig, slice ? readers : readers.slice(0, 1));
            results.push(...r);
            done++;
            const g = r[0]!;
            log(
              `[${done}/${total}] ${lang} ${profile} ${font} ${ratio}x -> ${g.ratio.toFixed(2)}x @ ${g.fontPx}px fidelity ${pct(g.fidelity)}` +
                r.slice(1).map((o) => ` (${o.decoder} ${pct(o.fidelity)})`).join('') +
                ` ${((performance.now() - started) / 1000).toFixed(0)}s`,
            );
          }
        }
      }
    }
    speed = await measureSpeed(streams, readers, options.quick);
  } finally {
    await Promise.all([withRedraw.close(), modelAlone.close()]);
  }
  await writeResults(options, streams, results, speed);
  return { results, speed };
}

async function writeResults(options: CompressionBenchmarkOptions, streams: ChatStreams, results: ConfigResult[], speed: SpeedResult[]): Promise<void> {
  const outDir = options.outDir;
  await mkdir(outDir, { recursive: true });
  const name = options.quick ? 'compression-quick' : 'compression';
  const headers = ['lang', 'profile', 'font', 'decoder', 'target', 'achieved', 'font px', 'pages', 'text tok', 'visual tok', 'fidelity', 's/page'];
  const rows = results.map((r) => [
    r.lang,
    r.profile,
    r.font,
    r.decoder,
    `${r.targetRatio}x`,
    `${r.ratio.toFixed(2)}x`,
    r.fontPx.toFixed(2),
    String(r.pages),
    String(r.textTokens),
    String(r.visualTokens),
    pct(r.fidelity),
    r.decodeSecondsPerPage.toFixed(2),
  ]);
  const speedRows = speed.map((s) => [s.what, String(s.pages), s.seconds.toFixed(2), s.pagesPerSecond.toFixed(2)]);
  const md = [
    `# Compression benchmark${options.quick ? ' (quick)' : ''}`,
    '',
    `Command: \`npm run eval:compression${options.quick ? ' -- --quick' : ''}\`. Machine: ${process.arch}, ${(await import('node:os')).cpus().length} CPU cores, Node ${process.version}.`,
    `Text: English from ${streams.en.sources.join(', ')}; Chinese from ${streams.zh.sources.join(', ')}.`,
    'Fidelity = 1 - character edit distance / reference length after whitespace normalisation, pooled over the pages of a row.',
    "Visual tokens are counted with the row's DeepSeek-OCR profile; every reader is the local PP-OCRv4 ONNX model on the CPU.",
    'Readers: `redraw` = line crops from the page geometry, each line proven (and look-alike misreads corrected) by redrawing it with the shipped fonts — the default; `model` = the same crops, recognition model alone; `detection` = text detection then recognition, no geometry (what any PNG gets).',
    '',
    '## Fidelity vs compression',
    '',
    markdownTable(headers, rows),
    '',
    '## Throughput',
    '',
    markdownTable(['what', 'pages', 'seconds', 'pages/s'], speedRows),
    '',
  ].join('\n');
  await writeFile(join(outDir, `${name}.md`), md);
  await writeFile(join(outDir, `${name}.json`), JSON.stringify({ results, speed }, null, 2) + '\n');

  const paper = [64, 100].map((vt) => ({
    name: `DeepSeek-OCR paper, ${vt} vision tokens (Fox)`,
    style: 'points' as const,
    points: DEEPSEEK_OCR_FOX.filter((p) => p.visionTokens === vt).map((p) => ({ x: p.ratio, y: p.precision * 100 })),
  }));
  for (const lang of ['en', 'zh'] as const) {
    const series = [...new Set(results.map((r) => `${r.profile}|${r.font}|${r.decoder}`))]
      .map((key) => {
        const [profile, font, dec] = key.split('|');
        const pts = results
          .filter((r) => r.lang === lang && r.profile === profile && r.font === font && r.decoder === dec)
          .map((r) => ({ x: r.ratio, y: r.fidelity * 100 }))
          .sort((a, b) => a.x - b.x);
        const suffix = dec === 'detection' ? ' (det+rec)' : dec === 'model' ? ' (model alone)' : '';
        return { name: `${profile!.replace('deepseek-ocr:', '')} ${font}${suffix}`, style: dec === 'redraw' ? ('line' as const) : ('dashed' as const), points: pts };
      })
      .filter((s) => s.points.length > 0);
    const png = await renderLineChart({
      title: `opticmem local decoder: fidelity vs compression (${lang === 'en' ? 'English' : 'Chinese'} chat text)`,
      xLabel: 'compression (text tokens / visual tokens)',
      yLabel: 'fidelity (%)',
      series: lang === 'en' ? [...series, ...paper] : series,
      yDomain: [0, 100],
    });
    await writeChart(join(outDir, `${name}-fidelity-${lang}.png`), png);
  }
  if (options.json) process.stdout.write(JSON.stringify({ results, speed }, null, 2) + '\n');
  else process.stdout.write(md + '\n');
}
