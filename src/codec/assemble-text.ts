/**
 * Turns recognised lines back into the text they were laid out from: soft-wrapped lines are
 * rejoined, indentation is restored from each line's x offset, blank lines from vertical gaps,
 * and `[U+XXXX]` escapes become the characters they stand for.
 */
import { isWideCodePoint, loadFontSet, type FontRole } from '../../renderers/fonts.js';
import type { PageGeometry } from '../../renderers/page.js';
import { unescapeUnreadable } from '../../renderers/text-layout.js';
import type { DecodedLine } from '../decoders/decoder.js';

export interface AssembledTurn {
  /** Index of the turn on the page. */
  readonly turn: number;
  readonly text: string;
}

export interface AssembledText {
  readonly text: string;
  readonly turns: readonly AssembledTurn[];
}

function spaceWidth(font: string, fontSize: number): number {
  const fonts = loadFontSet();
  const role: FontRole = font === 'mono' ? 'mono' : 'sans';
  return fonts.fonts[role].metrics.advance(32)! * fontSize;
}

function joiner(prev: string, next: string): string {
  const a = prev.codePointAt(prev.length - 1);
  const b = next.codePointAt(0);
  if ((a !== undefined && isWideCodePoint(a)) || (b !== undefined && isWideCodePoint(b))) return '';
  return ' ';
}

/** `lines` must be the decoder's output for `geometry.lines`, in the same order. */
export function assembleText(lines: readonly DecodedLine[], geometry: PageGeometry): AssembledText {
  const turns: { turn: number; text: string }[] = [];
  let prevY: number | undefined;
  let prevWrapped = false;
  let prevCut = false;
  geometry.lines.forEach((box, i) => {
    const raw = lines[i]?.text ?? '';
    let current = turns[turns.length - 1];
    if (!current || current.turn !== box.turn) {
      current = { turn: box.turn, text: '' };
      turns.push(current);
      prevY = undefined;
      prevWrapped = false;
      prevCut = false;
    }
    const content = raw.trim();
    if (prevY === undefined) {
      current.text += indentOf(box, geometry) + content;
    } else if (prevWrapped) {
      current.text += (prevCut ? '' : joiner(current.text, content)) + content;
    } else {
      const gap = Math.max(0, Math.round((box.y - prevY) / geometry.lineHeight) - 1);
      current.text += '\n'.repeat(1 + gap) + indentOf(box, geometry) + content;
    }
    prevY = box.y;
    prevWrapped = box.wrapped === true;
    prevCut = box.cut === true;
  });
  const out = turns.map((t) => ({ turn: t.turn, text: unescapeUnreadable(t.text) }));
  return { text: out.map((t) => t.text).join('\n'), turns: out };
}

function indentOf(box: PageGeometry['lines'][number], geometry: PageGeometry): string {
  const columns = geometry.columns ?? 1;
  const gutter = geometry.gutter ?? 0;
  const step = (geometry.width - 2 * geometry.margin - (columns - 1) * gutter) / columns + gutter;
  const column = columns > 1 ? Math.floor((box.x - geometry.margin + 0.5) / step) : 0;
  const n = Math.round((box.x - geometry.margin - column * step) / spaceWidth(box.font, box.fontSize));
  return n > 0 ? ' '.repeat(n) : '';
}
