/**
 * A disk cache of glyph masks, so a process that meets a CJK font size for the first time reads
 * its thousands of masks from a file instead of drawing each on the canvas (about 2 s a size).
 * A file is keyed by everything the masks depend on — the font file's bytes, the canvas
 * package's version, the face, the size and the characters — so a stale file is never read.
 * The cache holds glyph images only, no page data. Failures to read or write it are ignored:
 * the masks are then drawn as without it.
 *
 * Location: `OPTICMEM_CACHE_DIR`, else `opticmem-glyph-cache` in the system's temp folder;
 * `OPTICMEM_CACHE_DIR=off` turns it off.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import type { GlyphMask } from './glyph-atlas.js';

const FORMAT = 'opticmem-glyph-masks-1';
const require = createRequire(import.meta.url);
const fileDigests = new Map<string, string>();

function cacheDir(): string | undefined {
  const dir = process.env.OPTICMEM_CACHE_DIR;
  if (dir === 'off') return undefined;
  return dir && dir.length > 0 ? dir : join(tmpdir(), 'opticmem-glyph-cache');
}

function canvasVersion(): string {
  try {
    return (require('@napi-rs/canvas/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function digestOf(path: string): string {
  let d = fileDigests.get(path);
  if (!d) fileDigests.set(path, (d = createHash('sha256').update(readFileSync(path)).digest('hex')));
  return d;
}

/** The cache file for these masks: font file, canvas version, size and characters all named by the key. */
export function maskCacheFile(fontPath: string, family: string, fontSize: number, chars: readonly string[]): string | undefined {
  const dir = cacheDir();
  if (!dir) return undefined;
  try {
    const key = createHash('sha256').update([FORMAT, canvasVersion(), digestOf(fontPath), family, String(fontSize), chars.join('\u0000')].join('\u0001')).digest('hex');
    return join(dir, `${key}.bin`);
  } catch {
    return undefined;
  }
}

/** The four phases of each of `chars`, in order, or undefined if the file is missing or does not hold exactly that. */
export function readMaskCache(file: string | undefined, chars: readonly string[]): (readonly GlyphMask[])[] | undefined {
  if (!file) return undefined;
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return undefined;
  }
  const head = Buffer.from(`${FORMAT}\n`);
  if (buf.length < head.length + 4 || !buf.subarray(0, head.length).equals(head)) return undefined;
  let at = head.length;
  if (buf.readUInt32LE(at) !== chars.length) return undefined;
  at += 4;
  const out: GlyphMask[][] = [];
  for (let i = 0; i < chars.length; i++) {
    const phases: GlyphMask[] = [];
    for (let p = 0; p < 4; p++) {
      if (at + 8 > buf.length) return undefined;
      const left = buf.readInt16LE(at);
      const width = buf.readUInt16LE(at + 2);
      const top = buf.readInt16LE(at + 4);
      const height = buf.readUInt16LE(at + 6);
      at += 8;
      const n = width * height;
      if (at + n > buf.length) return undefined;
      phases.push({ left, width, top, height, gray: new Uint8Array(buf.subarray(at, at + n)) });
      at += n;
    }
    out.push(phases);
  }
  return at === buf.length ? out : undefined;
}

/** Write the masks (four phases per character, in `chars` order); atomic, errors ignored. */
export function writeMaskCache(file: string | undefined, masks: readonly (readonly GlyphMask[])[]): void {
  if (!file) return;
  try {
    const head = Buffer.from(`${FORMAT}\n`);
    let size = head.length + 4;
    for (const phases of masks) for (const m of phases) size += 8 + m.gray.length;
    const buf = Buffer.alloc(size);
    head.copy(buf, 0);
    let at = head.length;
    buf.writeUInt32LE(masks.length, at);
    at += 4;
    for (const phases of masks) {
      for (const m of phases) {
        buf.writeInt16LE(m.left, at);
        buf.writeUInt16LE(m.width, at + 2);
        buf.writeInt16LE(m.top, at + 4);
        buf.writeUInt16LE(m.height, at + 6);
        at += 8;
        buf.set(m.gray, at);
        at += m.gray.length;
      }
    }
    mkdirSync(join(file, '..'), { recursive: true });
    // Unique per writer: the reader's worker threads share a process id and may write the same file at once.
    const tmp = `${file}.${process.pid}.${threadId}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, buf);
    renameSync(tmp, file);
  } catch {
    // A cache that cannot be written is only slower.
  }
}
