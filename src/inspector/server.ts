/**
 * The memory inspector: a small local web server (node:http) with a JSON API over a Memory and
 * the page that shows it. Read-only unless started with `allowWrite`: a store it opens itself is
 * opened with `readOnly` (nothing created, migrated, recovered or cached), and over a memory it
 * is given it only looks. Bound to loopback unless a host is given.
 */
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { Memory } from '../../memory/memory.js';
import { InvalidInputError, parseInput } from '../errors.js';
import { isStoreUri as isUri, storeLocation } from '../internal/store-location.js';
import { errorResponse, InspectorRequestError } from './http-errors.js';
import * as api from './inspector-api.js';
import { ASSET_NAME, defaultAssetsDir, loadAssets, type StaticAsset } from './static-assets.js';

export const DEFAULT_INSPECTOR_PORT = 7340;
/** Longest request target (path and query), in bytes. */
export const MAX_URL_BYTES = 8192;
/** Largest request body (the pin action's JSON), in bytes. */
export const MAX_BODY_BYTES = 4096;

export interface InspectorOptions {
  /** An open memory to inspect; the caller keeps ownership and closes it. */
  readonly memory?: Memory;
  /** Or a store folder / LanceDB URI; the inspector opens it and closes it on `close()`. */
  readonly db?: string;
  /** LanceDB storage options for a `db` URI (endpoint, credentials). Default: OPTICMEM_STORAGE_OPTIONS from the environment. */
  readonly storageOptions?: Record<string, string>;
  /** Default 7340; 0 picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. Anything but loopback exposes the memory to the network. */
  readonly host?: string;
  /** Enable pinning and deleting. Default false: those requests get 403. */
  readonly allowWrite?: boolean;
  /** Folder holding the built page. Default: the one shipped in the package. */
  readonly assetsDir?: string;
}

export interface Inspector {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly allowWrite: boolean;
  /** Stop listening, drop open connections, and close the memory if the inspector opened it. */
  close(): Promise<void>;
}

const OptionsSchema = z
  .object({
    memory: z.custom<Memory>((v) => v instanceof Memory, 'must be a Memory from Memory.open()').optional(),
    db: z.string().min(1).optional(),
    storageOptions: z.record(z.string(), z.string({ error: 'storage option values are strings' })).optional(),
    port: z.number().int().min(0).max(65535, 'must be a port number 0-65535 (0 picks a free one)').optional(),
    host: z.string().min(1).max(255).optional(),
    allowWrite: z.boolean().optional(),
    assetsDir: z.string().min(1).optional(),
  })
  .strict()
  .refine((o) => (o.memory === undefined) !== (o.db === undefined), {
    message: "pass exactly one of 'memory' (an open Memory) or 'db' (a store folder or LanceDB URI)",
    path: ['db'],
  });


export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

type Handler = (memory: Memory, params: api.Params, req: IncomingMessage, access: api.Access) => Promise<Reply>;
type Reply = { json: unknown } | { png: Uint8Array };
interface Route {
  readonly write?: boolean;
  readonly handler: Handler;
}

const ROUTES: Record<string, Partial<Record<'GET' | 'POST' | 'DELETE', Route>>> = {
  '/api/scopes': { GET: { handler: async (m) => ({ json: await api.listScopes(m) }) } },
  '/api/scope': {
    GET: { handler: async (m, p) => ({ json: await api.scopeView(m, p) }) },
    DELETE: { write: true, handler: async (m, p) => ({ json: await api.deleteScope(m, p) }) },
  },
  '/api/page.png': { GET: { handler: async (m, p) => ({ png: await api.pagePng(m, p) }) } },
  '/api/page/text': { GET: { handler: async (m, p, _req, a) => ({ json: await api.pageText(m, p, a) }) } },
  '/api/page': { DELETE: { write: true, handler: async (m, p) => ({ json: await api.deletePage(m, p) }) } },
  '/api/page/pin': { POST: { write: true, handler: async (m, p, req) => ({ json: await api.pinPage(m, p, await readJson(req)) }) } },
  '/api/search': { GET: { handler: async (m, p, _req, a) => ({ json: await api.search(m, p, a) }) } },
  '/api/timeline': { GET: { handler: async (m, p) => ({ json: await api.timeline(m, p) }) } },
};

// The page loads only its own files; no CDN, fonts or inline script.
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
};

const COMMON_HEADERS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };

function reject(status: number, code: string, message: string, field?: string): never {
  throw new InspectorRequestError(status, code, message, field ? { field } : {});
}

/**
 * The request path, checked before any decoding: plain segments of safe characters only, so
 * `..`, encoded dots or slashes and backslashes never reach routing.
 */
function checkedPath(path: string): string {
  if (!path.startsWith('/')) reject(400, 'bad_path', `The path '${path.slice(0, 80)}' must start with '/'.`);
  if (/%|\\/.test(path)) reject(400, 'bad_path', 'Paths may not contain percent-encoding or backslashes; ask for /assets/<file> or /api/<endpoint> literally.');
  const segments = path.slice(1).split('/');
  if (segments.some((s, i) => s === '.' || s === '..' || (s === '' && i < segments.length - 1))) {
    reject(400, 'bad_path', "Paths may not contain '.', '..' or empty segments.");
  }
  if (!/^[A-Za-z0-9/_.-]*$/.test(path)) reject(400, 'bad_path', 'The path has characters no inspector URL uses.');
  return path;
}

function queryParams(query: string): api.Params {
  const params: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(query)) {
    if (Object.hasOwn(params, key)) reject(400, 'duplicate_parameter', `The query parameter '${key}' is given twice; give it once.`, `query.${key}`);
    params[key] = value;
  }
  return params;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = String(req.headers['content-type'] ?? '');
  if (!/^application\/json\b/i.test(type)) reject(415, 'unsupported_media_type', "Send the body as JSON with 'Content-Type: application/json'.");
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) reject(413, 'body_too_large', `The body is ${declared} bytes; the limit is ${MAX_BODY_BYTES}.`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) reject(413, 'body_too_large', `The body is over ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch (cause) {
    throw new InvalidInputError('body', 'The body is not valid JSON. Send e.g. {"pinned": true}.', { cause });
  }
}

function send(res: ServerResponse, status: number, headers: Record<string, string | number>, body: Uint8Array | string): void {
  res.writeHead(status, { ...COMMON_HEADERS, ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, { 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(value));
}

/** Start the inspector and resolve once it listens. */
export async function startInspector(options: InspectorOptions): Promise<Inspector> {
  const o = parseInput(OptionsSchema, options, 'options');
  const host = o.host ?? '127.0.0.1';
  const assets = loadAssets(o.assetsDir ?? defaultAssetsDir());
  const allowWrite = o.allowWrite ?? false;
  let memory: Memory;
  if (o.memory) memory = o.memory;
  else {
    const db = o.db!;
    // Inspecting a folder that holds no store would create an empty one; say so instead.
    if (!isUri(db) && !existsSync(db)) {
      throw new InvalidInputError('db', `No store at '${db}'. Pass the folder given to Memory.open({ path }) or to 'opticmem compress --db'.`);
    }
    try {
      memory = await Memory.open({ ...storeLocation(db), ...(o.storageOptions && isUri(db) ? { storageOptions: o.storageOptions } : {}), ...(allowWrite ? {} : { readOnly: true }) });
    } catch (error) {
      // A folder that holds no store: name the inspector's own option.
      if (InvalidInputError.isInstance(error) && (error.field === 'path' || error.field === 'uri')) throw new InvalidInputError('db', error.message, { cause: error });
      throw error;
    }
  }
  const ownsMemory = !o.memory;
  const loopback = isLoopbackHost(host);
  // Set once listening (the port may be chosen by the system).
  let url = '';
  let allowedHosts = new Set<string>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = req.url ?? '/';
    if (Buffer.byteLength(target) > MAX_URL_BYTES) reject(414, 'uri_too_long', `The URL is over ${MAX_URL_BYTES} bytes. Shorten the query.`);
    // Pages on other sites can reach a loopback port through DNS rebinding; their Host differs.
    if (loopback && !allowedHosts.has(String(req.headers.host ?? '').toLowerCase())) {
      reject(403, 'host_not_allowed', `The Host header '${String(req.headers.host ?? '')}' is not this inspector's. Open ${url}.`);
    }
    const q = target.indexOf('?');
    const path = checkedPath(q === -1 ? target : target.slice(0, q));
    const method = req.method ?? 'GET';
    if (path === '/' || path === '/index.html' || path.startsWith('/assets/')) {
      if (method !== 'GET' && method !== 'HEAD') reject(405, 'method_not_allowed', `${method} is not allowed on ${path}; use GET.`);
      const name = path === '/' ? 'index.html' : path.slice(path.lastIndexOf('/') + 1);
      const asset: StaticAsset | undefined = ASSET_NAME.test(name) && path.split('/').length <= 3 ? assets.get(name) : undefined;
      if (!asset) reject(404, 'not_found', `No file '${path}'. The page is at ${url}.`);
      send(res, 200, { 'content-type': asset.type, ...(asset.type.startsWith('text/html') ? PAGE_HEADERS : {}) }, asset.body);
      return;
    }
    if (path === '/api/info') {
      sendJson(res, 200, { db: memory.store.uri, allowWrite, readOnly: memory.readOnly, curve: memory.curve.name, ladder: memory.ladder.steps.map((s) => s.name), now: memory.now() });
      return;
    }
    const methods = ROUTES[path];
    if (!methods) reject(404, 'not_found', `No endpoint '${path}'. The API has ${['/api/info', ...Object.keys(ROUTES)].join(', ')}.`);
    const route = methods[(method === 'HEAD' ? 'GET' : method) as 'GET' | 'POST' | 'DELETE'];
    if (!route) {
      res.setHeader('allow', Object.keys(methods).join(', '));
      reject(405, 'method_not_allowed', `${method} is not allowed on ${path}; use ${Object.keys(methods).join(' or ')}.`);
    }
    if (route.write) {
      if (!allowWrite) {
        reject(403, 'read_only', 'This inspector is read-only. Restart it with --allow-write (startInspector({ allowWrite: true })) to pin or delete.');
      }
      // Writes come only from the page itself: a foreign Origin means another site's script.
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${req.headers.host}`) reject(403, 'cross_origin', `Writes from '${origin}' are refused; use the inspector page at ${url}.`);
    }
    const reply = await route.handler(memory, queryParams(q === -1 ? '' : target.slice(q + 1)), req, { allowWrite });
    if ('png' in reply) send(res, 200, { 'content-type': 'image/png' }, reply.png);
    else sendJson(res, 200, reply.json);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      const { status, body } = errorResponse(error);
      sendJson(res, status, body);
    });
  });
  server.requestTimeout = 120_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? DEFAULT_INSPECTOR_PORT, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    if (ownsMemory) await memory.close();
    throw listenError(error, host, o.port ?? DEFAULT_INSPECTOR_PORT);
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  url = `http://${urlHost}:${port}/`;
  allowedHosts = new Set([`${urlHost}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`].map((h) => h.toLowerCase()));

  let closing: Promise<void> | undefined;
  return {
    url,
    host,
    port,
    allowWrite,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        if (ownsMemory) await memory.close();
      })()),
  };
}

function listenError(error: unknown, host: string, port: number): Error {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE') return new InvalidInputError('port', `Port ${port} on ${host} is in use. Pass another --port, or 0 for any free port.`, { cause: error });
  if (code === 'EACCES') return new InvalidInputError('port', `Listening on port ${port} needs privileges. Use a port above 1023.`, { cause: error });
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new InvalidInputError('host', `Cannot listen on '${host}': it is not an address of this machine. Leave --host out for 127.0.0.1.`, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}
