/**
 * The calibration harness run against the local OCR model standing in as the consumer: PP-OCRv4
 * (`createLocalDecoder({ reader: 'model' })`) reads full pages of English chat (LoCoMo and OASST
 * from ../shared/data, interleaved six turns at a time) at every glyph size of the ladder on the
 * canvases of a few profiles, through `calibrate()`. Each profile keeps its state file in
 * `workDir`, so an interrupted run, or a rerun with more pages, reads only the pages it lacks.
 * Writes `<name>.md`, `<name>.json` and `<name>.png` to `outDir`.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import type { RenderTurn } from '../../renderers/text-layout.js';
import { calibrate, type CalibrationResult } from '../../src/calibrate/calibrate.js';
import { renderCalibrationChart, calibrationTable, floorRule } from '../../src/calibrate/report.js';
import { createLocalDecoder } from '../../src/decoders/local-decoder.js';
import { writeChart } from '../lib/chart.js';
import { loadDataset, type Conversation } from '../lib/datasets.js';
import { formatPercent, markdownTable } from '../lib/table.js';

export interface CalibrationBenchmarkOptions {
  readonly profiles: readonly string[];
  readonly sizes: readonly number[];
  readonly pages: number;
  readonly minFidelity: number;
  /** The OCR model's redraw check (opticmem's knowledge of its own fonts); off by default here, see the report. */
  readonly redrawCheck: boolean;
  readonly workDir: string;
  readonly outDir: string;
  readonly name: string;
}

/** Six turns of a LoCoMo conversation, then six of an OASST one, and so on, up to `maxChars`. */
export async function calibrationText(maxChars = 400_000): Promise<{ turns: RenderTurn[]; sources: string[] }> {
  const locomo = await loadDataset('locomo');
  const oasst = (await loadDataset('oasst')).filter((c) => c.lang === 'en');
  if (locomo.length === 0 || oasst.length === 0) {
    throw new Error('The calibration benchmark reads LoCoMo and OASST from ../shared/data (or OPTICMEM_DATA_DIR); locomo-dev.json or oasst-dev.jsonl is missing.');
  }
  const sources: Conversation[][] = [locomo, oasst];
  const cursors = sources.map(() => ({ conv: 0, turn: 0 }));
  const turns: RenderTurn[] = [];
  let chars = 0;
  for (let progress = true; progress && chars < maxChars; ) {
    progress = false;
    sources.forEach((convs, s) => {
      const c = cursors[s]!;
      const conv = convs[c.conv];
      if (!conv || chars >= maxChars) return;
      for (const t of conv.turns.slice(c.turn, c.turn + 6)) {
        if (!t.content.trim()) continue;
        turns.push({ role: t.role, content: t.content, ...(t.speaker ? { label: `${t.speaker}:` } : {}) });
        chars += t.content.length;
      }
      c.turn += 6;
      // At most 60 turns of a conversation, so many conversations take part.
      if (c.turn >= Math.min(conv.turns.length, 60)) {
        c.conv++;
        c.turn = 0;
      }
      progress = true;
    });
  }
  return { turns, sources: ['LoCoMo (locomo-dev.json)', 'OASST English (oasst-dev.jsonl)'] };
}

export async function runCalibrationBenchmark(options: CalibrationBenchmarkOptions): Promise<CalibrationResult[]> {
  const text = await calibrationText();
  const textSource = `English chat from ${text.sources.join(' and ')}, interleaved six turns at a time (${text.turns.length} turns, ${text.turns.reduce((a, t) => a + t.content.length, 0).toLocaleString('en-US')} characters)`;
  const decoder = createLocalDecoder({ reader: 'model', redrawCheck: options.redrawCheck });
  const results: CalibrationResult[] = [];
  try {
    for (const profile of options.profiles) {
      const t0 = performance.now();
      const result = await calibrate({
        profile,
        decoder,
        model: options.redrawCheck ? 'PP-OCRv4 + redraw check' : 'PP-OCRv4',
        turns: text.turns,
        textSource,
        sizes: options.sizes,
        pages: options.pages,
        minFidelity: options.minFidelity,
        outDir: join(options.workDir, options.redrawCheck ? 'redraw' : 'model', profile.replace(/[^a-z0-9.-]+/gi, '_')),
        onEstimate: (e) => process.stderr.write(`${profile}: ${e.requests} pages to read, ${e.resumed} from an earlier run\n`),
        onPage: (p) => {
          if (!p.resumed) process.stderr.write(`  ${profile} ${p.glyphPx}px page ${p.page + 1}: ${formatPercent(p.fidelity)} (${p.done}/${p.total}, ${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
        },
      });
      results.push(result);
      process.stderr.write(`${profile}: floor ${result.floor ?? 'none'} px, ${result.read} pages read in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
      await writeCombinedReport(results, options, textSource);
    }
  } finally {
    await decoder.close();
  }
  return results;
}

async function writeCombinedReport(results: readonly CalibrationResult[], options: CalibrationBenchmarkOptions, textSource: string): Promise<void> {
  await mkdir(options.outDir, { recursive: true });
  const reader = options.redrawCheck ? "`createLocalDecoder({ reader: 'model' })` (PP-OCRv4 with the redraw check)" : "`createLocalDecoder({ reader: 'model', redrawCheck: false })` (PP-OCRv4 alone)";
  const sections = results.map((r) => {
    const floorRow = r.rows.find((row) => row.glyphPx === r.floor);
    const pages = [...new Set(r.rows.map((row) => row.pages))].join('/');
    return [
      `## ${r.profile}: ${r.canvas.width}x${r.canvas.height} canvas, ${r.visualTokensPerPage} visual tokens a page, ${pages} pages a size`,
      '',
      calibrationTable(r.rows),
      '',
      r.floor === undefined ? `No floor: the largest size does not reach ${formatPercent(r.minFidelity)}.` : `Floor: **${r.floor} px** (${floorRow!.ratio.toFixed(1)}x on this canvas).`,
      '',
    ].join('\n');
  });
  const summary = markdownTable(
    ['profile', 'canvas', 'visual tokens', 'pages a size', 'floor', 'ratio at the floor', 'fidelity at the floor'],
    results.map((r) => {
      const at = r.rows.find((row) => row.glyphPx === r.floor);
      return [r.profile, `${r.canvas.width}x${r.canvas.height}`, r.visualTokensPerPage, [...new Set(r.rows.map((row) => row.pages))].join('/'), r.floor === undefined ? 'none' : `${r.floor} px`, at ? `${at.ratio.toFixed(1)}x` : '—', at ? formatPercent(at.fidelity) : '—'];
    }),
  );
  const md = [
    '# Calibration: the local OCR model as the consumer',
    '',
    summary,
    '',
    `Command: \`npm run eval:calibrate\` (\`calibrate()\` from src/calibrate/). Machine: ${process.arch}, ${cpus().length} CPU cores shared with other work, Node ${process.version}; reading the ${results.reduce((a, r) => a + r.pages.length, 0)} pages took ${(results.reduce((a, r) => a + r.pages.reduce((b, p) => b + p.elapsedMs, 0), 0) / 60_000).toFixed(0)} min in all (PNG decoding, recognition; pages are drawn and scored outside that time).`,
    `Reader: ${reader} on the page's line geometry, standing in for a consuming vision model.` +
      (options.redrawCheck ? '' : ' The redraw check is left out: it corrects readings with opticmem\'s knowledge of its own fonts, which a consuming model does not have (in a one-page trial on the demo conversation, a 5 px Base page read 97.0% with it and 90.9% without).'),
    `Text: ${textSource}. Every page is the canvas filled as full as the layout allows (1-3 columns, whichever holds the most text), page n starting at the same turn at every size.`,
    'Glyph px: the font size as the model sees it after its resize (all three canvases are seen at their own pixels). Ratio: text tokens (o200k) / visual tokens of the page. Fidelity: 1 - character edit distance / reference length after whitespace normalisation, averaged over the pages of a row.',
    `Floor: ${floorRule(options.minFidelity)}.`,
    '',
    ...sections,
  ].join('\n');
  const base = join(options.outDir, options.name);
  await writeFile(`${base}.md`, md);
  await writeFile(
    `${base}.json`,
    JSON.stringify(
      results.map((r) => ({ profile: r.profile, model: r.model, decoder: r.decoder, canvas: r.canvas, visualTokensPerPage: r.visualTokensPerPage, minFidelity: r.minFidelity, floor: r.floor ?? null, floorRule: r.floorRule, rows: r.rows, preset: r.preset ?? null, pages: r.pages })),
      null,
      2,
    ) + '\n',
  );
  await writeChart(
    `${base}.png`,
    await renderCalibrationChart(
      results.map((r) => ({ name: `${r.profile} ${r.canvas.width}x${r.canvas.height}`, rows: r.rows })),
      options.minFidelity,
      `${options.redrawCheck ? 'PP-OCRv4 + redraw check' : 'PP-OCRv4'} as the consumer: fidelity vs glyph size`,
    ),
  );
  process.stdout.write(md + '\n');
}
