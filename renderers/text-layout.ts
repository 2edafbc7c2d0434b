/**
 * Lays turns out into lines for a given font size and width, using font metrics only (no
 * canvas), so the planner can try many sizes cheaply and the renderer draws exactly what
 * was measured.
 */
import { isWideCodePoint, loadFontSet, type FontRole, type FontSet } from './fonts.js';

export interface RenderTurn {
  readonly role: string;
  readonly content: string;
  /** Label drawn before the turn; defaults to the capitalised role. Empty string: no label. */
  readonly label?: string;
}

export type FontChoice = 'sans' | 'mono' | 'auto';

export interface LayoutOptions {
  readonly fontSize: number;
  /** Width available for text, px. */
  readonly maxWidth: number;
  /** 'auto' draws fenced code blocks in mono and the rest in sans. */
  readonly font: FontChoice;
}

export interface TextRun {
  readonly text: string;
  readonly font: FontRole;
  /** Offset from the line's x, px. */
  readonly dx: number;
  readonly width: number;
}

export interface LaidOutLine {
  readonly turn: number;
  /** Leading indentation in px (code indentation survives as position, not as characters). */
  readonly indent: number;
  readonly indentSpaces: number;
  readonly runs: readonly TextRun[];
  readonly width: number;
  readonly baseFont: 'sans' | 'mono';
  /** True when the source line continues on the next laid-out line (soft wrap). */
  readonly wrapped: boolean;
  /** The wrap cuts a word (no space was dropped), so the reader joins the lines without one. */
  readonly cut?: boolean;
  /** Line text as drawn (after escaping). */
  readonly text: string;
}

const TAB = '    ';

const PICTOGRAPH = /\p{Extended_Pictographic}|\p{Emoji_Modifier}|[\u200d\ufe0e\ufe0f]/u;

/** Glyphs a reader (human or OCR) cannot read back are drawn as `[U+XXXX]`, never as tofu. */
export function escapeUnreadable(text: string, fonts: FontSet = loadFontSet()): string {
  let out = '';
  for (const ch of text.replace(/\r\n?/g, '\n').replace(/\t/g, TAB)) {
    const cp = ch.codePointAt(0)!;
    // Newline and printable ASCII are always drawable; skipping the checks keeps rendering fast.
    if (ch === '\n' || (cp >= 0x20 && cp < 0x7f)) {
      out += ch;
      continue;
    }
    const pictograph = cp > 0xff && PICTOGRAPH.test(ch);
    const control = cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
    if (pictograph || control || fonts.fontFor(cp, 'sans') === undefined) {
      out += `[U+${cp.toString(16).toUpperCase().padStart(4, '0')}]`;
    } else out += ch;
  }
  return out;
}

/** Undo `escapeUnreadable` on decoded text. */
export function unescapeUnreadable(text: string): string {
  return text.replace(/\[U\+([0-9A-F]{4,6})\]/gi, (m, hex: string) => {
    const cp = Number.parseInt(hex, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
  });
}

export function labelFor(turn: RenderTurn): string {
  if (turn.label !== undefined) return turn.label;
  const r = turn.role.trim();
  return r ? r[0]!.toUpperCase() + r.slice(1) + ':' : '';
}

interface SourceLine {
  readonly turn: number;
  readonly text: string;
  readonly mono: boolean;
}

/** Split turns into source lines, marking lines inside ``` fences as code. */
export function sourceLines(turns: readonly RenderTurn[], fonts: FontSet = loadFontSet()): SourceLine[] {
  const out: SourceLine[] = [];
  turns.forEach((turn, t) => {
    const label = labelFor(turn);
    const body = escapeUnreadable(turn.content, fonts);
    const lines = body.split('\n');
    let inFence = false;
    lines.forEach((line, i) => {
      const fence = /^\s*```/.test(line);
      const mono = inFence || fence;
      if (fence) inFence = !inFence;
      // The label shares the first line unless that line is code, which keeps its indentation.
      if (i === 0 && label) {
        if (mono) out.push({ turn: t, text: label, mono: false });
        else {
          out.push({ turn: t, text: line ? `${label} ${line}` : label, mono: false });
          return;
        }
      }
      out.push({ turn: t, text: line, mono });
    });
  });
  return out;
}

function isBreakableAfter(ch: string, next: string | undefined): boolean {
  if (ch === ' ') return true;
  const cp = ch.codePointAt(0)!;
  const ncp = next?.codePointAt(0);
  return isWideCodePoint(cp) || (ncp !== undefined && isWideCodePoint(ncp));
}

/**
 * Lay out turns. Wrapping prefers spaces, breaks anywhere between CJK characters, and splits
 * a word longer than the line only when it must.
 */
export function layoutTurns(turns: readonly RenderTurn[], options: LayoutOptions, fonts: FontSet = loadFontSet()): LaidOutLine[] {
  const { fontSize, maxWidth } = options;
  const lines: LaidOutLine[] = [];
  for (const src of sourceLines(turns, fonts)) {
    const baseFont: 'sans' | 'mono' = options.font === 'mono' || (options.font === 'auto' && src.mono) ? 'mono' : 'sans';
    const chars = Array.from(src.text);
    let lead = 0;
    while (lead < chars.length && chars[lead] === ' ') lead++;
    const spaceWidth = fonts.fonts[baseFont].metrics.advance(32)! * fontSize;
    // Deep indentation would leave no room; cap it at half the line.
    const indentSpaces = Math.min(lead, Math.floor(maxWidth / 2 / spaceWidth));
    const indent = indentSpaces * spaceWidth;
    const body = chars.slice(lead);
    const widths = body.map((ch) => advanceOf(ch, baseFont, fontSize, fonts));
    const avail = Math.max(maxWidth - indent, fontSize);
    let start = 0;
    if (body.length === 0) {
      lines.push(makeLine(src.turn, indent, indentSpaces, [], [], baseFont, false, fonts));
      continue;
    }
    while (start < body.length) {
      let w = 0;
      let end = start;
      let lastBreak = -1;
      while (end < body.length && w + widths[end]! <= avail) {
        w += widths[end]!;
        if (isBreakableAfter(body[end]!, body[end + 1])) lastBreak = end;
        end++;
      }
      // A word longer than the line is cut where it must be, with no space to mark the cut.
      let cut = false;
      if (end < body.length) {
        if (body[end] === ' ') {
          // the break falls on a space: drop it
        } else if (lastBreak >= start) end = lastBreak + 1;
        else {
          cut = true;
          if (end === start) end = start + 1; // a single glyph wider than the line
        }
      }
      let lineEnd = end;
      while (lineEnd > start && body[lineEnd - 1] === ' ' && end < body.length) lineEnd--;
      const wrapped = end < body.length;
      const line = makeLine(src.turn, indent, indentSpaces, body.slice(start, lineEnd), widths.slice(start, lineEnd), baseFont, wrapped, fonts);
      lines.push(cut && wrapped ? { ...line, cut: true } : line);
      start = end;
      while (wrapped && start < body.length && body[start] === ' ') start++;
    }
  }
  return lines;
}

/** Runs of one line of already-laid-out text, exactly as `layoutTurns` would draw it. */
export function lineRuns(text: string, baseFont: 'sans' | 'mono', fontSize: number, fonts: FontSet = loadFontSet()): LaidOutLine {
  const chars = Array.from(text);
  return makeLine(0, 0, 0, chars, chars.map((ch) => advanceOf(ch, baseFont, fontSize, fonts)), baseFont, false, fonts);
}

/** Advance of one character in px, in the font that draws it on a `baseFont` line. */
function advanceOf(ch: string, baseFont: 'sans' | 'mono', fontSize: number, fonts: FontSet): number {
  return glyphOf(ch, baseFont, fontSize, fonts).advance;
}

/** The face that draws `ch` on a `baseFont` line, and its advance in px. */
export function glyphOf(ch: string, baseFont: 'sans' | 'mono', fontSize: number, fonts: FontSet = loadFontSet()): { role: FontRole; advance: number } {
  const cp = ch.codePointAt(0)!;
  const role = fonts.fontFor(cp, baseFont) ?? baseFont;
  return { role, advance: (fonts.fonts[role].metrics.advance(cp) ?? 0.5) * fontSize };
}

function makeLine(
  turn: number,
  indent: number,
  indentSpaces: number,
  chars: readonly string[],
  widths: readonly number[],
  baseFont: 'sans' | 'mono',
  wrapped: boolean,
  fonts: FontSet,
): LaidOutLine {
  const runs: TextRun[] = [];
  let dx = 0;
  let start = 0;
  let runDx = 0;
  let runWidth = 0;
  let role: FontRole | undefined;
  for (let i = 0; i <= chars.length; i++) {
    const next = i < chars.length ? (fonts.fontFor(chars[i]!.codePointAt(0)!, baseFont) ?? baseFont) : undefined;
    if (next !== role || i === chars.length) {
      if (role !== undefined) runs.push({ text: chars.slice(start, i).join(''), font: role, dx: runDx, width: runWidth });
      if (i === chars.length) break;
      role = next;
      start = i;
      runDx = dx;
      runWidth = 0;
    }
    runWidth += widths[i]!;
    dx += widths[i]!;
  }
  return { turn, indent, indentSpaces, runs, width: dx, baseFont, wrapped, text: chars.join('') };
}
