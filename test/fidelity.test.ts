import { describe, expect, it } from 'vitest';
import { fidelity, normalizeForFidelity } from '../src/codec/fidelity.js';

describe('fidelity', () => {
  it('is edit-distance based after whitespace normalisation', () => {
    expect(fidelity('hello  world\n', 'hello world')).toBe(1);
    expect(fidelity('hella world', 'hello world')).toBeCloseTo(1 - 1 / 11, 10);
    expect(fidelity('', 'hello')).toBe(0);
    expect(fidelity('completely different and much longer text', 'abc')).toBe(0);
  });

  it('ignores line-wrap spaces between CJK characters but keeps them in Latin text', () => {
    expect(normalizeForFidelity('京都的 春天\n很美')).toBe('京都的春天很美');
    expect(normalizeForFidelity('a\n b')).toBe('a b');
    expect(fidelity('京都的春天很美', '京都的春 天很美')).toBe(1);
  });
});
