/**
 * An OpenAI-compatible chat completions server for tests, on 127.0.0.1 and a random port.
 * It records every request and answers with a configurable reply: text, an HTTP error with an
 * OpenAI-style error body, a raw JSON body, or nothing for a while (a hanging server).
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FakeReply =
  | { readonly text: string; readonly finishReason?: string; readonly delayMs?: number }
  | {
      readonly status: number;
      readonly message?: string;
      readonly type?: string;
      readonly code?: string | null;
      /** Sent as `retry-after-ms`, so clients that retry do not wait the default back-off. */
      readonly retryAfterMs?: number;
      readonly delayMs?: number;
    }
  | { readonly body: unknown; readonly delayMs?: number }
  /** Accept the request and never answer (until the client gives up or the server closes). */
  | { readonly hang: true };

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined when it was not JSON). */
  readonly body: unknown;
}

export interface FakeOpenAIServer {
  /** e.g. http://127.0.0.1:41234/v1 */
  readonly baseURL: string;
  readonly requests: readonly RecordedRequest[];
  /** Requests received and not yet answered whose connection is still open. */
  pending(): number;
  /** Reply to every later request with this (the default is `{ text: 'ok' }`). */
  reply(reply: FakeReply): void;
  /** Reply to the next requests with these, in order, then fall back to `reply()`'s. */
  replyOnce(...replies: FakeReply[]): void;
  /** Answer POST /v1/embeddings with these vectors (one per input string). */
  onEmbeddings(fn: (inputs: string[]) => number[][]): void;
  /** Forget recorded requests and queued replies; the default reply becomes `{ text: 'ok' }`. */
  reset(): void;
  close(): Promise<void>;
}

/** Bodies larger than this are refused with 413, so a runaway client cannot fill memory. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Requests kept; later ones are still answered but not recorded. */
const MAX_RECORDED = 1000;

export async function startFakeOpenAIServer(): Promise<FakeOpenAIServer> {
  const requests: RecordedRequest[] = [];
  const queue: FakeReply[] = [];
  let fallback: FakeReply = { text: 'ok' };
  let embed: ((inputs: string[]) => number[][]) | undefined;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let completionId = 0;
  let pending = 0;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        if (!refused) sendError(res, 413, `Request body exceeds ${MAX_BODY_BYTES} bytes.`, 'invalid_request_error');
        refused = true;
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = raw === '' ? undefined : JSON.parse(raw);
      } catch {
        body = undefined;
      }
      if (requests.length < MAX_RECORDED) requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'POST' && path === '/v1/embeddings' && embed) {
        const input = (body as { input?: unknown }).input;
        const inputs = Array.isArray(input) ? input.map(String) : [String(input)];
        sendJson(res, 200, { object: 'list', model: (body as { model?: string }).model, data: embed(inputs).map((embedding, index) => ({ object: 'embedding', index, embedding })), usage: { prompt_tokens: 1, total_tokens: 1 } });
        return;
      }
      if (req.method !== 'POST' || path !== '/v1/chat/completions') {
        sendError(res, 404, `Unknown route ${req.method} ${path}.`, 'invalid_request_error');
        return;
      }
      const reply = queue.shift() ?? fallback;
      pending++;
      res.on('close', () => pending--);
      if ('hang' in reply) return;
      const send = () => answer(res, reply, body);
      if (reply.delayMs && reply.delayMs > 0) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!res.destroyed) send();
        }, reply.delayMs);
        timers.add(timer);
        res.on('close', () => {
          clearTimeout(timer);
          timers.delete(timer);
        });
      } else {
        send();
      }
    });
  });

  function answer(res: ServerResponse, reply: Exclude<FakeReply, { hang: true }>, body: unknown): void {
    if ('status' in reply) {
      sendError(res, reply.status, reply.message ?? `Fake error ${reply.status}.`, reply.type ?? 'server_error', reply.code, reply.retryAfterMs);
      return;
    }
    if ('body' in reply) {
      sendJson(res, 200, reply.body);
      return;
    }
    const model = (body as { model?: unknown } | undefined)?.model;
    sendJson(res, 200, {
      id: `chatcmpl-fake-${++completionId}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: typeof model === 'string' ? model : 'fake',
      choices: [{ index: 0, message: { role: 'assistant', content: reply.text, refusal: null }, logprobs: null, finish_reason: reply.finishReason ?? 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    });
  }

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    pending: () => pending,
    reply(reply) {
      fallback = reply;
    },
    replyOnce(...replies) {
      queue.push(...replies);
    },
    onEmbeddings(fn) {
      embed = fn;
    },
    reset() {
      embed = undefined;
      requests.length = 0;
      queue.length = 0;
      fallback = { text: 'ok' };
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, message: string, type: string, code: string | null = null, retryAfterMs?: number): void {
  sendJson(res, status, { error: { message, type, param: null, code } }, retryAfterMs === undefined ? {} : { 'retry-after-ms': String(retryAfterMs) });
}
