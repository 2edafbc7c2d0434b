/**
 * Reads a conversation from a file or stdin: a JSON array of chat messages, an object with a
 * `messages` array, JSON Lines (one message a line), or plain text (one unlabelled turn).
 */
import { readFile } from 'node:fs/promises';
import { InvalidInputError } from '../errors.js';
import type { RenderTurn } from '../../renderers/text-layout.js';

export async function readInput(path: string): Promise<string> {
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new InvalidInputError('file', `Cannot read '${path}': ${(cause as NodeJS.ErrnoException).code ?? String(cause)}. Pass an existing file, or '-' for standard input.`, { cause });
  }
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p: unknown) => (typeof p === 'object' && p !== null && 'text' in p && typeof p.text === 'string' ? p.text : ''))
      .filter(Boolean)
      .join('\n');
  }
  return content === undefined || content === null ? '' : JSON.stringify(content);
}

function toTurn(m: unknown): RenderTurn {
  if (typeof m !== 'object' || m === null) return { role: 'text', content: String(m), label: '' };
  const o = m as Record<string, unknown>;
  const role = typeof o.role === 'string' ? o.role : typeof o.speaker === 'string' ? o.speaker : 'user';
  return { role, content: contentText(o.content ?? o.text) };
}

/** Parse chat text into turns; plain text becomes one turn with no label. */
export function parseChat(text: string): RenderTurn[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    try {
      const data: unknown = JSON.parse(trimmed);
      if (Array.isArray(data)) return data.map(toTurn);
      if (typeof data === 'object' && data !== null && Array.isArray((data as { messages?: unknown }).messages)) {
        return (data as { messages: unknown[] }).messages.map(toTurn);
      }
      return [toTurn(data)];
    } catch {
      const lines = trimmed.split('\n').filter((l) => l.trim());
      try {
        return lines.map((l) => toTurn(JSON.parse(l)));
      } catch {
        // not JSON after all: fall through to plain text
      }
    }
  }
  return [{ role: 'text', content: text.replace(/\s+$/, ''), label: '' }];
}
