/**
 * Chat messages accepted by `Memory.add`: the OpenAI chat format (`{ role, content }`, content
 * a string or an array of parts), validated strictly so bad input fails before anything is
 * written.
 */
import { z } from 'zod';
import { parseInput } from '../src/errors.js';

const TextPart = z.object({ type: z.literal('text'), text: z.string() }).passthrough();
const ImagePart = z.object({ type: z.literal('image_url'), image_url: z.union([z.string(), z.object({ url: z.string() }).passthrough()]) }).passthrough();
const InputTextPart = z.object({ type: z.enum(['input_text', 'output_text']), text: z.string() }).passthrough();
const OtherPart = z.object({ type: z.string() }).passthrough();

export const ChatMessageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool'], {
      error: (issue) => `unknown role ${JSON.stringify(issue.input)}; use 'system', 'developer', 'user', 'assistant' or 'tool'`,
    }),
    content: z.union([z.string(), z.array(z.union([TextPart, InputTextPart, ImagePart, OtherPart]))], {
      error: 'content must be a string or an array of content parts ({ type: "text", text })',
    }),
    name: z.string().max(256).optional(),
    /** When the message was said: ms since epoch, or an ISO date string. Defaults to now. */
    createdAt: z.union([z.number().finite().nonnegative(), z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'createdAt must be an ISO date')]).optional(),
  })
  .passthrough();

export type ChatMessage = z.input<typeof ChatMessageSchema>;

export interface NormalizedMessage {
  readonly role: string;
  readonly name: string;
  readonly content: string;
  readonly createdAt: number | undefined;
}

/** Text of a message: text parts joined; images and other parts leave a visible placeholder. */
export function messageText(content: z.output<typeof ChatMessageSchema>['content']): string {
  if (typeof content === 'string') return content;
  return content
    .map((p) => {
      if ('text' in p && typeof p.text === 'string') return p.text;
      if (p.type === 'image_url') return '[image]';
      return `[${p.type}]`;
    })
    .join('\n');
}

export const MAX_MESSAGE_CHARS = 256 * 1024;

export function parseMessages(input: unknown, field = 'messages'): NormalizedMessage[] {
  const arr = Array.isArray(input) ? input : [input];
  const parsed = parseInput(z.array(ChatMessageSchema).min(1, 'pass at least one message'), arr, field);
  return parsed.map((m, i) => {
    const content = messageText(m.content);
    if (content.length > MAX_MESSAGE_CHARS) {
      parseInput(z.string().max(MAX_MESSAGE_CHARS, `is ${content.length} characters; the limit is ${MAX_MESSAGE_CHARS}. Split it into several messages`), content, `${field}.${i}.content`);
    }
    const createdAt = m.createdAt === undefined ? undefined : typeof m.createdAt === 'number' ? m.createdAt : Date.parse(m.createdAt);
    return { role: m.role, name: m.name ?? '', content, createdAt };
  });
}
