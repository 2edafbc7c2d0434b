import { Tiktoken } from 'js-tiktoken/lite';
import o200k_base from 'js-tiktoken/ranks/o200k_base';

/** Counts text tokens the way the text model that would otherwise read the history does. */
export interface TextTokenizerV1 {
  readonly specificationVersion: 'v1';
  readonly name: string;
  count(text: string): number;
  /** Token ids; used to cut text at token boundaries. */
  encode(text: string): number[];
  decode(tokens: readonly number[]): string;
}

export type TextTokenizer = TextTokenizerV1;

let o200k: Tiktoken | undefined;

/**
 * o200k_base (GPT-4o, GPT-4.1, GPT-5 family); the default. Its ranks (about a second of CPU to
 * load) are loaded at the first count, so work that counts nothing (opening a store to list,
 * recall from cached text, export, check) does not pay for them.
 */
export function createO200kTokenizer(): TextTokenizer {
  const enc = () => (o200k ??= new Tiktoken(o200k_base));
  return {
    specificationVersion: 'v1',
    name: 'o200k_base',
    count: (text) => (text.length === 0 ? 0 : enc().encode(text, [], []).length),
    encode: (text) => enc().encode(text, [], []),
    decode: (tokens) => enc().decode([...tokens]),
  };
}
