/**
 * Chat messages accepted by `Memory.add`: the OpenAI chat format (`{ role, content }`, content
 * a string or an array of parts), validated strictly so bad input fails before anything is
 * written.
 */
import { z } from 'zod';
import { InvalidInputError, parseInput } from '../src/errors.js';
import { loneSurrogateAt } from '../src/internal/well-formed.js';
import { IdSchema } from './scope.js';

const TextPart = z.object({ type: z.literal('text'), text: z.string() }).passthrough();
const ImagePart = z.object({ type: z.literal('image_url'), image_url: z.union([z.string(), z.object({ url: z.string() }).passthrough()]) }).passthrough();
const InputTextPart = z.object({ type: z.enum(['input_text', 'output_text']), text: z.string() }).passthrough();
// Any other part type passes through as a placeholder; a known type with the wrong shape does not.
const KNOWN_PARTS = ['text', 'input_text', 'output_text', 'image_url'];
const OtherPart = z.object({ type: z.string().refine((t) => !KNOWN_PARTS.includes(t), 'has the wrong shape for its type: a text part needs { type: "text", text: "..." } with text a string') }).passthrough();

/** An OpenAI chat tool call: `{ type: 'function', function: { name, arguments } }`. */
const ToolCall = z
  .object({
    type: z.literal('function').optional(),
    function: z.object({ name: z.string().min(1, 'must name the function'), arguments: z.string({ error: 'must be the JSON arguments as a string' }) }).passthrough(),
  })
  .passthrough();

const CONTENT_ERROR = 'content must be a string or an array of content parts ({ type: "text", text })';

export const ChatMessageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool'], {
      error: (issue) => `unknown role ${JSON.stringify(issue.input)}; use 'system', 'developer', 'user', 'assistant' or 'tool'`,
    }),
    // null (or absent) only on an assistant message that makes tool calls, as OpenAI sends it.
    content: z.union([z.string(), z.array(z.union([TextPart, InputTextPart, ImagePart, OtherPart])).min(1, 'has no parts; pass at least one part, e.g. [{ type: "text", text: "..." }]'), z.null()], { error: CONTENT_ERROR }).optional(),
    tool_calls: z.array(ToolCall).optional(),
    name: z.string().max(256).optional(),
    /**
     * Your id for the message, stored as its turn's id. A message whose id the scope already
     * holds (as a hot turn or on a page) is skipped, so an add retried after a crash stores
     * nothing twice. Unique within the scope; ids are generated when left out.
     */
    id: IdSchema.optional(),
    /** When the message was said: ms since epoch, or an ISO date string. Defaults to now. */
    createdAt: z.union([z.number().finite().nonnegative(), z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'createdAt must be an ISO date')]).optional(),
  })
  .passthrough()
  .superRefine((m, ctx) => {
    if ((m.content === null || m.content === undefined) && !(m.role === 'assistant' && m.tool_calls?.length)) {
      ctx.addIssue({ code: 'custom', path: ['content'], message: `${CONTENT_ERROR}; it may be null only on an assistant message with tool_calls` });
    }
  });

export type ChatMessage = z.input<typeof ChatMessageSchema>;

export interface NormalizedMessage {
  readonly id: string | undefined;
  readonly role: string;
  readonly name: string;
  readonly content: string;
  readonly createdAt: number | undefined;
}

/** A tool call as a line of text, the way the AI SDK integration stores one. */
export function toolCallText(name: string, args: string): string {
  return `[tool call ${name} ${args}]`;
}

/**
 * Text of a message: text parts joined; images and other parts leave a visible placeholder;
 * tool calls follow as a line each.
 */
export function messageText(content: z.output<typeof ChatMessageSchema>['content'], toolCalls: z.output<typeof ChatMessageSchema>['tool_calls'] = []): string {
  const calls = toolCalls.map((c) => toolCallText(c.function.name, c.function.arguments));
  return [partsText(content), ...calls].filter((t) => t !== '').join('\n');
}

function partsText(content: z.output<typeof ChatMessageSchema>['content']): string {
  if (content === null || content === undefined) return '';
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
  const normalized = parsed.map((m, i) => {
    const content = messageText(m.content, m.tool_calls);
    if (content.length > MAX_MESSAGE_CHARS) {
      parseInput(z.string().max(MAX_MESSAGE_CHARS, `is ${content.length} characters; the limit is ${MAX_MESSAGE_CHARS}. Split it into several messages`), content, `${field}.${i}.content`);
    }
    const broken = loneSurrogateAt(content);
    if (broken >= 0) {
      throw new InvalidInputError(`${field}.${i}.content`, `'${field}.${i}.content' holds a lone UTF-16 surrogate at index ${broken} (half of a character, often a cut emoji), which storage would turn into U+FFFD. Remove it or pass text.toWellFormed().`);
    }
    if (m.name !== undefined && loneSurrogateAt(m.name) >= 0) {
      throw new InvalidInputError(`${field}.${i}.name`, `'${field}.${i}.name' holds a lone UTF-16 surrogate, which storage would turn into U+FFFD. Remove it or pass name.toWellFormed().`);
    }
    const createdAt = m.createdAt === undefined ? undefined : typeof m.createdAt === 'number' ? m.createdAt : Date.parse(m.createdAt);
    return { id: m.id, role: m.role, name: m.name ?? '', content, createdAt };
  });
  const seen = new Map<string, number>();
  normalized.forEach((m, i) => {
    if (m.id === undefined) return;
    if (seen.has(m.id)) throw new InvalidInputError(`${field}.${i}.id`, `'${field}.${i}.id' repeats the id of message ${seen.get(m.id)} ('${m.id}'). Give each message its own id.`);
    seen.set(m.id, i);
  });
  return normalized;
}
