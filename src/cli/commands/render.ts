import { stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InvalidInputError } from '../../errors.js';
import { encode, resolveProfile, type EncodedPage } from '../../codec/codec.js';
import { createLocalDecoder } from '../../decoders/local-decoder.js';
import { createO200kTokenizer } from '../../tokens/text-tokenizer.js';
import type { RenderTurn } from '../../../renderers/text-layout.js';
import { parseChat, readInput } from '../read-chat.js';
import { pct, printJson, printTable, progressBar } from '../output.js';

export interface RenderCommandOptions {
  ratio: number;
  profile: string;
  out: string;
  font: 'sans' | 'mono' | 'auto';
  verify?: boolean;
  minFidelity?: number;
  json?: boolean;
}

/** `page.png` -> `page.png`, `page-2.png`, ... for multi-page output. */
export function pagePath(out: string, index: number): string {
  if (index === 0) return out;
  const dot = out.toLowerCase().endsWith('.png') ? out.length - 4 : out.length;
  return `${out.slice(0, dot)}-${index + 1}${out.slice(dot)}`;
}

/** Pages the text needs on the profile's largest canvas: the bar's starting total. */
function estimatePages(turns: readonly RenderTurn[], options: RenderCommandOptions): number {
  const profile = resolveProfile(options.profile);
  const perPage = Math.max(...profile.sizes().map((s) => profile.tokensFor(s.width, s.height)));
  const tokens = createO200kTokenizer().count(turns.map((t) => t.content).join('\n'));
  return Math.max(1, Math.ceil(tokens / (options.ratio * perPage)));
}

export async function renderCommand(file: string, options: RenderCommandOptions): Promise<number> {
  const folder = dirname(resolve(options.out));
  if (!(await stat(folder).then((s) => s.isDirectory(), () => false))) {
    throw new InvalidInputError('out', `The folder '${folder}' for --out does not exist. Create it first, or write the pages elsewhere.`);
  }
  const turns = parseChat(await readInput(file));
  const decoder = options.verify ? createLocalDecoder() : undefined;
  const showBar = !options.json && process.stderr.isTTY === true;
  const bar = progressBar('render', showBar ? estimatePages(turns, options) : 1, showBar);
  try {
    const pages = await encode(turns, {
      ratio: options.ratio,
      profile: options.profile,
      font: options.font,
      ...(decoder ? { verify: { decoder, ...(options.minFidelity !== undefined ? { minFidelity: options.minFidelity } : {}) } } : {}),
      onPage: () => bar.tick(),
    });
    bar.stop();
    const rows = await Promise.all(
      pages.map(async (p: EncodedPage, i) => {
        const path = pagePath(options.out, i);
        await writeFile(path, p.png);
        return {
          path,
          width: p.geometry.width,
          height: p.geometry.height,
          fontSize: p.geometry.fontSize,
          textTokens: p.textTokens,
          visualTokens: p.visualTokens,
          ratio: Number(p.ratio.toFixed(3)),
          profile: p.profile,
          bytes: p.png.length,
          ...(p.fidelity !== undefined ? { fidelity: Number(p.fidelity.toFixed(4)) } : {}),
        };
      }),
    );
    const achieved = pages.reduce((a, p) => a + p.textTokens, 0) / Math.max(1, pages.reduce((a, p) => a + p.visualTokens, 0));
    const note = shortfall(pages, options, achieved);
    if (options.json) printJson({ pages: rows, target: options.ratio, achieved: Number(achieved.toFixed(3)), ...(note ? { note } : {}) });
    else {
      printTable(
        ['page', 'size', 'font px', 'text tok', 'visual tok', 'ratio', 'fidelity', 'bytes'],
        rows.map((r) => [r.path, `${r.width}x${r.height}`, r.fontSize, r.textTokens, r.visualTokens, r.ratio.toFixed(2), pct(r.fidelity), r.bytes]),
      );
      if (note) process.stderr.write(`${note}\n`);
    }
    return 0;
  } finally {
    bar.stop();
    await decoder?.close();
  }
}

/**
 * Why the pages came out well below the target ratio, or undefined when they did not: text
 * too short for the smallest canvas, whole pages (the text fills part of the last one), or the
 * smallest font (or verification) needing more pages than the tokens alone would.
 */
export function shortfall(pages: readonly EncodedPage[], options: RenderCommandOptions, achieved: number): string | undefined {
  if (pages.length === 0 || achieved >= options.ratio * 0.9) return undefined;
  const profile = resolveProfile(options.profile);
  const tokens = pages.reduce((a, p) => a + p.textTokens, 0);
  const canvases = profile.sizes().map((s) => profile.tokensFor(s.width, s.height));
  const smallest = Math.min(...canvases);
  const largest = Math.max(...canvases);
  const head = `Achieved ${achieved.toFixed(2)}x of the ${options.ratio}x asked:`;
  if (tokens < options.ratio * smallest) {
    return `${head} the text is ${tokens} tokens and the smallest ${profile.name} canvas costs ${smallest} visual tokens, so ${options.ratio}x needs at least ${Math.ceil(options.ratio * smallest)} text tokens. Render more text at once, or choose a profile with smaller canvases.`;
  }
  const needed = Math.ceil(tokens / (options.ratio * largest));
  if (pages.length <= needed) {
    return `${head} pages are whole, and ${tokens} text tokens fill ${(tokens / (options.ratio * largest)).toFixed(2)} pages of the largest ${profile.name} canvas (${largest} visual tokens), so ${pages.length} are drawn, the text spread evenly over them.`;
  }
  return `${head} the text needs ${pages.length} pages where its tokens alone would fill ${needed}: its lines do not fit fewer pages at the smallest font size${options.verify ? ', or pages were re-planned at a lower ratio to reach --min-fidelity' : ''}.`;
}

