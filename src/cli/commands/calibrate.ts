/**
 * `opticmem calibrate`: measure a consuming model's legibility floor (see src/calibrate/). The
 * cost estimate goes to stderr before any page is read; a billed endpoint (--decoder openai)
 * then needs --yes, or, when stdin and stderr are a terminal and the estimate is within
 * --max-tokens, a 'y' to "Proceed? [y/N]". Exit codes: 0 with a floor, 2 for invalid flags or a run not confirmed, 3 when
 * the endpoint fails or no size on the ladder reaches --min-fidelity.
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { join } from 'node:path';
import type { RenderTurn } from '../../../renderers/text-layout.js';
import { calibrate } from '../../calibrate/calibrate.js';
import { formatEstimate } from '../../calibrate/estimate.js';
import { createOpenAINeedleAsker } from '../../calibrate/needles.js';
import { DEFAULT_MAX_TOKENS, DEFAULT_MIN_FIDELITY, DEFAULT_PAGES, DEFAULT_SIZES } from '../../calibrate/options.js';
import { formatPercent } from '../../internal/table.js';
import { InvalidInputError } from '../../errors.js';
import { packageRoot } from '../../internal/package-root.js';
import { decoderFromFlags, type DecoderFlags } from '../decoder-flags.js';
import { parseChat, readInput } from '../read-chat.js';
import { printJson, progressBar } from '../output.js';

/** The held-out text used without --text: the conversations the package ships for its demo and examples. */
export const DEFAULT_CALIBRATION_TEXTS = ['examples/data/demo-conversation.json', 'examples/data/support-chat.jsonl'] as const;

export interface CalibrateCommandOptions extends DecoderFlags {
  profile: string;
  out: string;
  pages?: string;
  sizes?: string;
  minFidelity?: string;
  text?: string;
  canvas?: string;
  priceIn?: string;
  priceOut?: string;
  maxTokens?: string;
  yes?: boolean;
  needles?: boolean;
  json?: boolean;
}

function wholeNumber(flag: string, value: string, example: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidInputError(flag.replace(/^--/, ''), `${flag} must be a whole number >= 1; got '${value}'. For example ${flag} ${example}.`);
  }
  return n;
}

function nonNegative(flag: string, value: string, example: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new InvalidInputError(flag.replace(/^--/, ''), `${flag} must be a number >= 0; got '${value}'. For example ${flag} ${example}.`);
  }
  return n;
}

/** `--sizes 6,8,10` as pixel sizes. */
export function parseSizes(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const sizes = parts.map(Number);
  const bad = parts.findIndex((p, i) => p === '' || !Number.isFinite(sizes[i]!) || sizes[i]! < 3 || sizes[i]! > 64);
  if (bad >= 0) {
    throw new InvalidInputError('sizes', `--sizes must be a comma-separated list of glyph sizes from 3 to 64 px, e.g. --sizes 6,8,10,12,14; '${parts[bad]}' is not one.`);
  }
  return sizes;
}

/** `--canvas 1024x1024`. */
export function parseCanvas(value: string): { width: number; height: number } {
  const m = /^\s*(\d+)\s*[xX×]\s*(\d+)\s*$/.exec(value);
  if (!m) throw new InvalidInputError('canvas', `--canvas must be WIDTHxHEIGHT in pixels, one of the profile's canvases, e.g. --canvas 1024x1024; got '${value}'.`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

async function readText(file: string | undefined): Promise<{ turns: RenderTurn[]; source: string }> {
  if (file !== undefined) {
    const turns = parseChat(await readInput(file)).filter((t) => t.content.trim() !== '');
    if (turns.length === 0) throw new InvalidInputError('text', `--text ${file} holds no chat text. Pass a .txt file or a JSON / JSON Lines chat of { role, content } turns.`);
    return { turns, source: file === '-' ? 'chat text from standard input' : `chat text from ${file}` };
  }
  const turns: RenderTurn[] = [];
  for (const rel of DEFAULT_CALIBRATION_TEXTS) turns.push(...parseChat(await readFile(join(packageRoot(), rel), 'utf8')));
  return { turns: turns.filter((t) => t.content.trim() !== ''), source: `the conversations opticmem ships (${DEFAULT_CALIBRATION_TEXTS.join(', ')})` };
}

export async function calibrateCommand(options: CalibrateCommandOptions): Promise<number> {
  const pages = options.pages === undefined ? DEFAULT_PAGES : wholeNumber('--pages', options.pages, '4');
  const sizes = options.sizes === undefined ? [...DEFAULT_SIZES] : parseSizes(options.sizes);
  const minFidelity = options.minFidelity === undefined ? DEFAULT_MIN_FIDELITY : nonNegative('--min-fidelity', options.minFidelity, '0.95');
  if (minFidelity <= 0 || minFidelity > 1) {
    throw new InvalidInputError('min-fidelity', `--min-fidelity must be a fraction in (0, 1], e.g. --min-fidelity 0.95; got '${options.minFidelity}'.`);
  }
  const canvas = options.canvas === undefined ? undefined : parseCanvas(options.canvas);
  const priceIn = options.priceIn === undefined ? undefined : nonNegative('--price-in', options.priceIn, '2.50');
  const priceOut = options.priceOut === undefined ? undefined : nonNegative('--price-out', options.priceOut, '10');
  const maxTokens = options.maxTokens === undefined ? DEFAULT_MAX_TOKENS : wholeNumber('--max-tokens', options.maxTokens, '2000000');
  if (options.needles && options.decoder !== 'openai') {
    throw new InvalidInputError('needles', '--needles asks each page a question through a chat endpoint. Add --decoder openai with --model (and --base-url), or leave --needles out.');
  }
  const text = await readText(options.text);
  const decoder = decoderFromFlags(options);
  // The same endpoint and key as the decoder (see decoder-flags.ts).
  const apiKey = process.env.OPENAI_API_KEY || (options.baseUrl ? 'none' : undefined);
  const needles = options.needles ? createOpenAINeedleAsker({ model: options.model!, ...(options.baseUrl ? { baseURL: options.baseUrl } : {}), ...(apiKey ? { apiKey } : {}) }) : undefined;
  const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
  const err = (s: string) => process.stderr.write(s + '\n');
  let bar: ReturnType<typeof progressBar> | undefined;
  let toRead = 0;
  let lastSize: number | undefined;
  const sizeFidelity: number[] = [];
  const endSize = () => {
    if (lastSize === undefined || sizeFidelity.length === 0) return;
    const mean = sizeFidelity.reduce((a, b) => a + b, 0) / sizeFidelity.length;
    if (process.stderr.isTTY !== true) err(`  ${lastSize} px: ${sizeFidelity.length} page${sizeFidelity.length === 1 ? '' : 's'}, mean fidelity ${formatPercent(mean)}`);
    sizeFidelity.length = 0;
  };
  try {
    const result = await calibrate({
      profile: options.profile,
      decoder,
      turns: text.turns,
      textSource: text.source,
      sizes,
      pages,
      minFidelity,
      ...(canvas ? { canvas } : {}),
      ...(needles ? { needles } : {}),
      outDir: options.out,
      ...(priceIn !== undefined || priceOut !== undefined ? { prices: { ...(priceIn !== undefined ? { inputPerMTok: priceIn } : {}), ...(priceOut !== undefined ? { outputPerMTok: priceOut } : {}) } } : {}),
      maxTokens,
      yes: options.yes === true,
      interactive,
      confirm: async () => {
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          return /^y(es)?$/i.test((await rl.question('Proceed? [y/N] ')).trim());
        } finally {
          rl.close();
        }
      },
      onEstimate: (e) => {
        err(formatEstimate(e));
        toRead = e.pages;
      },
      onPage: (p) => {
        // Drawn from the first page on, so it never runs into the question above.
        bar ??= progressBar('calibrate', toRead);
        if (p.glyphPx !== lastSize) {
          endSize();
          lastSize = p.glyphPx;
        }
        sizeFidelity.push(p.fidelity);
        if (!p.resumed) bar?.tick();
      },
    });
    endSize();
    bar?.stop();
    if (options.json) {
      printJson({ floor: result.floor ?? null, floorRule: result.floorRule, preset: result.preset ?? null, rows: result.rows, read: result.read, resumed: result.resumed, files: result.files });
    } else {
      process.stdout.write(result.markdown);
      const f = result.files!;
      process.stdout.write(`\nWrote ${f.markdown}, ${f.json}, ${f.chart}${f.preset ? ` and the preset ${f.preset}` : ''} (${result.read} pages read, ${result.resumed} from ${f.state}).\n`);
      if (f.preset) process.stdout.write(`Use it: Memory.open({ legibility: [JSON.parse(readFileSync('${f.preset}', 'utf8'))] })\n`);
    }
    if (result.floor === undefined) {
      err(`opticmem: no glyph size up to ${sizes[sizes.length - 1]} px reached a mean fidelity of ${formatPercent(minFidelity)}, so no preset was written. Add larger sizes (--sizes ...,24,28), check the prompt (--prompt generic for chat models), or lower --min-fidelity.`);
      return 3;
    }
    return 0;
  } finally {
    bar?.stop();
    await decoder.close();
  }
}
