import { describe, expect, it } from 'vitest';
import { escapeUnreadable, layoutTurns, sourceLines, unescapeUnreadable } from '../renderers/text-layout.js';

describe('text layout', () => {
  it('escapes emoji and glyphs no shipped font has, visibly and reversibly', () => {
    const text = 'ok 👍🏽 done \u0007 \u{10FFFD}';
    const escaped = escapeUnreadable(text);
    expect(escaped).toContain('[U+1F44D]');
    expect(escaped).toContain('[U+0007]');
    expect(escaped).not.toMatch(/👍/u);
    expect(unescapeUnreadable(escaped)).toBe(text);
  });

  it('puts the role label on the first line and keeps code fences in mono with indentation', () => {
    const lines = sourceLines([{ role: 'assistant', content: 'Here:\n```py\ndef f():\n    return 1\n```' }]);
    expect(lines.map((l) => [l.text, l.mono])).toEqual([
      ['Assistant: Here:', false],
      ['```py', true],
      ['def f():', true],
      ['    return 1', true],
      ['```', true],
    ]);
    const laid = layoutTurns([{ role: 'assistant', content: 'x\n```\nif a:\n    b()\n```' }], { fontSize: 10, maxWidth: 400, font: 'auto' });
    const body = laid.find((l) => l.text === 'b()')!;
    expect(body.indentSpaces).toBe(4);
    expect(body.baseFont).toBe('mono');
    expect(body.indent).toBeGreaterThan(0);
  });

  it('wraps at spaces within the width, breaks CJK anywhere, and keeps blank lines', () => {
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    const laid = layoutTurns([{ role: 'user', content: `${words}\n\n京都的春天很美樱花盛开京都的春天很美樱花盛开京都的春天很美樱花盛开` }], { fontSize: 10, maxWidth: 200, font: 'sans' });
    for (const l of laid) expect(l.width).toBeLessThanOrEqual(200);
    const latin = laid.filter((l) => l.text.includes('word'));
    expect(latin.length).toBeGreaterThan(3);
    expect(latin.slice(0, -1).every((l) => l.wrapped)).toBe(true);
    expect(latin.map((l) => l.text).join(' ')).toBe(`User: ${words}`);
    expect(laid.some((l) => l.runs.length === 0)).toBe(true);
    const cjk = laid.filter((l) => /[京樱]/.test(l.text));
    expect(cjk.length).toBeGreaterThan(1);
    expect(cjk.every((l) => l.runs.every((r) => r.font === 'cjk'))).toBe(true);
  });
});
