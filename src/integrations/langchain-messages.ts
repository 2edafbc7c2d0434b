/**
 * Conversions between LangChain messages and opticmem's chat messages and context messages,
 * shared by the chat history (`opticmem/langchain`) and the agent middleware
 * (`opticmem/langchain/agent`). Needs only `@langchain/core`.
 */
import {
  AIMessage,
  ChatMessage,
  HumanMessage,
  SystemMessage,
  type BaseMessage,
  type ContentBlock,
} from '@langchain/core/messages';
import { z } from 'zod';
import type { ContextMessage } from '../../memory/context-builder.js';
import type { Memory } from '../../memory/memory.js';
import type { ChatMessage as OpticMemMessage } from '../../memory/messages.js';
import { InvalidInputError } from '../errors.js';

// Duck-typed so a Memory from a second copy of the package is accepted too.
export const MemorySchema = z.custom<Memory>(
  (v) => typeof v === 'object' && v !== null && ['add', 'buildContext', 'delete'].every((k) => typeof (v as Record<string, unknown>)[k] === 'function'),
  "must be an opticmem Memory (from 'await Memory.open({ path })')",
);

type Role = 'user' | 'assistant' | 'system' | 'developer' | 'tool';

const MEDIA = new Set(['image', 'image_url', 'file', 'audio', 'video', 'input_audio']);

/**
 * The text of LangChain content: text blocks kept, media left as a visible placeholder. Other
 * blocks (reasoning, provider tool-use echoes) are dropped: tool calls are recorded from
 * `tool_calls`, and reasoning is not part of the conversation.
 */
export function contentText(content: BaseMessage['content']): string {
  if (typeof content === 'string') return content;
  return (content as readonly Record<string, unknown>[])
    .map((block) => {
      if (typeof block.text === 'string' && (block.type === 'text' || block.type === undefined)) return block.text;
      if (MEDIA.has(String(block.type))) return `[${String(block.type)}]`;
      return '';
    })
    .filter((s) => s.length > 0)
    .join('\n');
}

function roleOf(message: BaseMessage, field: string): Role {
  switch (message.type) {
    case 'human':
      return 'user';
    case 'ai':
      return 'assistant';
    case 'system':
      return 'system';
    case 'tool':
    case 'function':
      return 'tool';
    case 'generic': {
      const role = (message as ChatMessage).role;
      if (role === 'human') return 'user';
      if (role === 'ai') return 'assistant';
      if (['user', 'assistant', 'system', 'developer', 'tool'].includes(role)) return role as Role;
      throw new InvalidInputError(`${field}.role`, `ChatMessage role '${role}' is not one opticmem stores. Use 'user', 'assistant', 'system', 'developer' or 'tool'.`);
    }
    default:
      throw new InvalidInputError(field, `Message type '${String(message.type)}' cannot be stored. Pass HumanMessage, AIMessage, SystemMessage, ToolMessage or ChatMessage.`);
  }
}

/** A LangChain message as an opticmem chat message; AI tool calls are kept as a line of text each. */
export function toOpticMem(message: BaseMessage, field: string): OpticMemMessage {
  const role = roleOf(message, field);
  let content = contentText(message.content);
  const calls = (message as AIMessage).tool_calls ?? [];
  if (role === 'assistant' && calls.length > 0) {
    const lines = calls.map((c) => `[tool call] ${c.name} ${JSON.stringify(c.args)}`);
    content = [content, ...lines].filter(Boolean).join('\n');
  }
  return { role, content, ...(message.name ? { name: message.name } : {}) };
}

function imageBlock(dataUrl: string): ContentBlock.Multimodal.Image {
  const comma = dataUrl.indexOf(',');
  return { type: 'image', mimeType: 'image/png', data: dataUrl.slice(comma + 1) };
}

/**
 * An opticmem context message as a LangChain message. `providerSafe` turns roles most chat
 * providers reject in the middle of a conversation (system, developer, tool without a call id)
 * into labelled human messages.
 */
export function toLangChain(m: ContextMessage, providerSafe: boolean): BaseMessage {
  const name = m.name ? { name: m.name } : {};
  if (typeof m.content !== 'string') {
    const blocks = m.content.map((p) => (p.type === 'text' ? { type: 'text' as const, text: p.text } : imageBlock(p.image_url.url)));
    return new HumanMessage({ contentBlocks: blocks, ...name });
  }
  const content = m.content;
  if (m.role === 'user') return new HumanMessage({ content, ...name });
  if (m.role === 'assistant') return new AIMessage({ content, ...name });
  if (providerSafe) return new HumanMessage({ content: `[${m.role}${m.name ? ` ${m.name}` : ''}] ${content}` });
  if (m.role === 'system') return new SystemMessage({ content, ...name });
  return new ChatMessage({ content, role: m.role, ...name });
}
