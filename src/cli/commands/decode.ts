import { readFile } from 'node:fs/promises';
import { decode } from '../../codec/codec.js';
import { InvalidInputError } from '../../errors.js';
import { decoderFromFlags, type DecoderFlags } from '../decoder-flags.js';
import { printJson } from '../output.js';

export interface DecodeCommandOptions extends DecoderFlags {
  json?: boolean;
  geometry?: boolean;
}

export async function decodeCommand(file: string, options: DecodeCommandOptions): Promise<number> {
  let png: Uint8Array;
  try {
    png = new Uint8Array(await readFile(file));
  } catch (cause) {
    throw new InvalidInputError('file', `Cannot read '${file}'. Pass the path of a PNG page.`, { cause });
  }
  const decoder = decoderFromFlags(options);
  try {
    const result = await decode(png, { decoder, ...(options.geometry === false ? { useGeometry: false } : {}) });
    if (options.json) {
      printJson({ text: result.text, turns: result.turns, path: result.raw.path, decoder: result.raw.decoder, elapsedMs: Math.round(result.raw.elapsedMs), lines: result.raw.lines });
    } else process.stdout.write(result.text + '\n');
    return 0;
  } finally {
    await decoder.close();
  }
}
