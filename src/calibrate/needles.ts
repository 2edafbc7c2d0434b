/**
 * Needle questions: a fact sentence planted in the middle of each calibration page and asked
 * back with one more chat completion that carries the page image. A transcription can be
 * mostly right and still garble the one number that matters; the needle column shows whether
 * the model can answer from the page. Needles are reported beside fidelity; the floor is
 * chosen by fidelity alone.
 */
import { createHash } from 'node:crypto';
import type { RenderTurn } from '../../renderers/text-layout.js';
import { createOpenAIDecoder, type OpenAIDecoderOptions } from '../decoders/openai-decoder.js';

/** Asks a question about a page image and returns the model's answer. */
export interface NeedleAsker {
  readonly name: string;
  ask(png: Uint8Array, question: string, signal?: AbortSignal): Promise<string>;
}

export interface Needle {
  /** The sentence planted on the page, as a turn of its own. */
  readonly fact: string;
  readonly question: string;
  /** Four digits. */
  readonly answer: string;
}

const NAMES = ['Lena', 'Tomas', 'Priya', 'Kofi', 'Marta', 'Yusuf', 'Ines', 'Oskar', 'Aiko', 'Rafael', 'Nadia', 'Bruno'];
const THINGS = ['storage locker', 'bike lock', 'garage door', 'luggage lock', 'office safe', 'gate keypad'];

/** Tokens a needle question and its answer add to a request, for the estimate. */
export const NEEDLE_QUESTION_TOKENS = 60;
export const NEEDLE_ANSWER_TOKENS = 8;

/** The needle of page `page` at `glyphPx`: the same on every run. */
export function needleFor(glyphPx: number, page: number): Needle {
  const h = createHash('sha256').update(`opticmem-needle/${glyphPx}/${page}`).digest();
  const name = NAMES[h[0]! % NAMES.length]!;
  const thing = THINGS[h[1]! % THINGS.length]!;
  const answer = String(1000 + (h.readUInt16BE(2) % 9000));
  return {
    fact: `Quick note so we don't forget: the code for ${name}'s ${thing} is ${answer}.`,
    question: `The image is a page of a chat transcript. What is the code for ${name}'s ${thing}, according to the page? Answer with the four digits only, or 'unknown' if the page does not say.`,
    answer,
  };
}

/** The planted turn. */
export function needleTurn(needle: Needle): RenderTurn {
  return { role: 'user', content: needle.fact };
}

/** Whether the reply gives the needle's digits (as a number of their own, spaces inside allowed). */
export function needleFound(needle: Needle, reply: string): boolean {
  const digits = reply.replace(/(?<=\d)[\s,.-](?=\d)/g, '');
  return new RegExp(`(^|\\D)${needle.answer}(\\D|$)`).test(digits);
}

/**
 * An asker on an OpenAI-compatible chat endpoint: the options of `createOpenAIDecoder`, the
 * question sent as the prompt beside the page image.
 */
export function createOpenAINeedleAsker(options: Omit<OpenAIDecoderOptions, 'prompt'>): NeedleAsker {
  return {
    name: `openai:${options.model}`,
    async ask(png, question, signal) {
      const decoder = createOpenAIDecoder({ ...options, prompt: question });
      try {
        const answer = await decoder.decode({ png }, signal ? { signal } : {});
        return answer.text;
      } finally {
        await decoder.close();
      }
    },
  };
}
