/**
 * Loaders for the third-party evaluation data (LoCoMo, OASST, KdConv, MemoryBank, MT-Bench),
 * normalised to one `Conversation` shape. The data lives outside the repository (its licences
 * allow evaluation use only), in `../shared/data` next to the repo root or wherever
 * OPTICMEM_DATA_DIR points. A missing folder or file loads as [] so benchmarks can fall back to
 * the project's own fixtures; a file that is present but malformed throws.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../../src/internal/package-root.js';

export type Lang = 'en' | 'zh';

export interface Turn {
  id?: string;
  role: 'user' | 'assistant' | (string & {});
  /** The person speaking, where the source names them. */
  speaker?: string;
  content: string;
  /** When the turn was said, as the source writes it (LoCoMo session time, MemoryBank date). */
  time?: string;
}

export interface QaItem {
  question: string;
  /** Absent for questions without a gold answer (LoCoMo adversarial items, MemoryBank probes). */
  answer?: string;
  /** LoCoMo category 5: the tempting wrong answer a system should not give. */
  adversarialAnswer?: string;
  /** Ids of the turns that hold the answer. */
  evidence: string[];
  category?: number | string;
}

export interface Conversation {
  id: string;
  source: DatasetName;
  lang: Lang;
  turns: Turn[];
  qa?: QaItem[];
  /** Source-specific labels such as the MT-Bench category or the KdConv topic. */
  meta?: Record<string, string>;
}

export const DATASET_FILES = {
  locomo: 'locomo-dev.json',
  oasst: 'oasst-dev.jsonl',
  kdconv: 'kdconv-travel-dev.json',
  'memorybank-en': 'memorybank-en-dev.json',
  'memorybank-cn': 'memorybank-cn-dev.json',
  mtbench: 'mtbench-questions.jsonl',
} as const;

export type DatasetName = keyof typeof DATASET_FILES;

/** Questions about earlier days; attached to the MemoryBank conversations as QA without answers. */
const PROBING_FILES = {
  'memorybank-en': 'memorybank-probing-en.jsonl',
  'memorybank-cn': 'memorybank-probing-cn.jsonl',
} as const;

export interface LoadOptions {
  /** Folder holding the data files; defaults to `dataDir()`. */
  dir?: string;
  /** Keep at most this many conversations. */
  limit?: number;
  /**
   * OASST trees: follow the best reply at each turn (a conversation, the default), or take
   * every message of the tree once in depth-first order (all the text, for reading benchmarks).
   */
  oasstReplies?: 'best' | 'all';
}

/** OPTICMEM_DATA_DIR if set, else `../shared/data` beside the repository root. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.OPTICMEM_DATA_DIR?.trim();
  return override ? resolve(override) : resolve(packageRoot(), '..', 'shared', 'data');
}

/** The datasets whose files are present. */
export function availableDatasets(dir: string = dataDir()): DatasetName[] {
  return (Object.keys(DATASET_FILES) as DatasetName[]).filter((name) => existsSync(join(dir, DATASET_FILES[name])));
}

export function loadDataset(name: DatasetName, options: LoadOptions = {}): Promise<Conversation[]> {
  switch (name) {
    case 'locomo':
      return loadLoCoMo(options);
    case 'oasst':
      return loadOasst(options);
    case 'kdconv':
      return loadKdConv(options);
    case 'memorybank-en':
      return loadMemoryBank('en', options);
    case 'memorybank-cn':
      return loadMemoryBank('zh', options);
    case 'mtbench':
      return loadMtBench(options);
  }
}

// ---------------------------------------------------------------- reading

class DataFormatError extends Error {
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'DataFormatError';
  }
}

/** The file's text, or undefined when it (or the whole data folder) is absent. */
async function readIfPresent(dir: string, file: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, file), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function readJson(dir: string, file: string): Promise<unknown> {
  const text = await readIfPresent(dir, file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new DataFormatError(file, `not valid JSON (${(cause as Error).message})`);
  }
}

async function readJsonLines(dir: string, file: string): Promise<unknown[] | undefined> {
  const text = await readIfPresent(dir, file);
  if (text === undefined) return undefined;
  return text.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line) as unknown];
    } catch (cause) {
      throw new DataFormatError(file, `line ${i + 1} is not valid JSON (${(cause as Error).message})`);
    }
  });
}

/**
 * The entries whose value matches `schema`, keyed as given. Odd records are skipped (the
 * upstream files have a few), but if none match, the format has changed and loading fails
 * rather than reporting an empty dataset.
 */
function validEntries<K, S extends z.ZodType>(
  schema: S,
  entries: readonly (readonly [K, unknown])[],
  file: string,
): [K, z.output<S>][] {
  const valid: [K, z.output<S>][] = [];
  let firstError: z.ZodError | undefined;
  for (const [key, value] of entries) {
    const parsed = schema.safeParse(value);
    if (parsed.success) valid.push([key, parsed.data]);
    else firstError ??= parsed.error;
  }
  if (firstError && valid.length === 0) {
    throw new DataFormatError(file, `no record has the expected shape: ${z.prettifyError(firstError)}`);
  }
  return valid;
}

function validRecords<S extends z.ZodType>(schema: S, records: readonly unknown[], file: string): z.output<S>[] {
  return validEntries(schema, records.map((r, i) => [i, r] as const), file).map(([, value]) => value);
}

function expectArray(value: unknown, file: string): unknown[] {
  if (!Array.isArray(value)) throw new DataFormatError(file, 'expected a JSON array at the top level');
  return value;
}

function take<T>(items: T[], limit: number | undefined): T[] {
  return limit === undefined ? items : items.slice(0, Math.max(0, limit));
}

const text = z.union([z.string(), z.number()]).transform(String);

// ---------------------------------------------------------------- LoCoMo

const LocomoTurn = z.looseObject({
  speaker: z.string(),
  dia_id: z.string(),
  text: text,
  blip_caption: z.string().optional(),
});

const LocomoQa = z.looseObject({
  question: z.string(),
  answer: text.nullish(),
  adversarial_answer: text.nullish(),
  evidence: z.array(z.string()).default([]),
  category: z.union([z.number(), z.string()]).optional(),
});

const LocomoSample = z.looseObject({
  sample_id: text,
  conversation: z.looseObject({ speaker_a: z.string(), speaker_b: z.string() }),
  qa: z.array(z.unknown()).default([]),
});

/** Evidence ids as 'D<session>:<turn>'; the source has a few typos ('D:11:26', 'D8:6; D9:17'). */
function locomoEvidence(raw: readonly string[]): string[] {
  return raw
    .flatMap((e) => e.split(/[;,\s]+/))
    .map((e) => /^D:?(\d+):(\d+)$/.exec(e.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `D${m[1]}:${m[2]}`);
}

export async function loadLoCoMo(options: LoadOptions = {}): Promise<Conversation[]> {
  const file = DATASET_FILES.locomo;
  const data = await readJson(options.dir ?? dataDir(), file);
  if (data === undefined) return [];
  const samples = validRecords(LocomoSample, expectArray(data, file), file);
  return take(samples, options.limit).map((sample) => {
    const c = sample.conversation;
    const sessions = Object.keys(c)
      .map((key) => /^session_(\d+)$/.exec(key))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const turns: Turn[] = [];
    for (const n of sessions) {
      const raw = c[`session_${n}`];
      const time = c[`session_${n}_date_time`];
      for (const t of Array.isArray(raw) ? validRecords(LocomoTurn, raw, file) : []) {
        // speaker_a opens every conversation, so they take the user side.
        const role = t.speaker === c.speaker_a ? 'user' : t.speaker === c.speaker_b ? 'assistant' : flip(turns.at(-1)?.role);
        // Shared photos carry meaning the QA relies on; keep their captions in the text.
        const content = t.blip_caption ? `${t.text} [shared image: ${t.blip_caption}]` : t.text;
        turns.push({ id: t.dia_id, role, speaker: t.speaker, content, ...(typeof time === 'string' ? { time } : {}) });
      }
    }
    const qa = validRecords(LocomoQa, sample.qa, file).map((q): QaItem => {
      const item: QaItem = { question: q.question, evidence: locomoEvidence(q.evidence) };
      if (q.answer !== null && q.answer !== undefined) item.answer = q.answer;
      if (q.adversarial_answer !== null && q.adversarial_answer !== undefined) item.adversarialAnswer = q.adversarial_answer;
      if (q.category !== undefined) item.category = q.category;
      return item;
    });
    return { id: sample.sample_id, source: 'locomo', lang: 'en', turns, qa, meta: { speakerA: c.speaker_a, speakerB: c.speaker_b } };
  });
}

function flip(role: string | undefined): 'user' | 'assistant' {
  return role === 'user' ? 'assistant' : 'user';
}

// ---------------------------------------------------------------- OASST

const OasstNode = z.looseObject({
  message_id: z.string().optional(),
  text: z.string(),
  role: z.string(),
  lang: z.string().optional(),
  rank: z.number().nullish(),
  deleted: z.boolean().nullish(),
  review_result: z.boolean().nullish(),
  replies: z.array(z.unknown()).default([]),
});
type OasstNode = z.output<typeof OasstNode>;

const OasstTree = z.looseObject({ message_tree_id: z.string(), prompt: z.unknown() });

/** The replies of `node` that parse and are not deleted. */
function liveReplies(node: OasstNode): OasstNode[] {
  return node.replies.map((r) => OasstNode.safeParse(r)).flatMap((r) => (r.success && !r.data.deleted ? [r.data] : []));
}

/** The reply to follow: not deleted, passed review if any did, best (lowest) rank, then first. */
function bestReply(node: OasstNode): OasstNode | undefined {
  const replies = liveReplies(node);
  const reviewed = replies.filter((r) => r.review_result !== false);
  const pool = reviewed.length > 0 ? reviewed : replies;
  let best: OasstNode | undefined;
  for (const r of pool) {
    if (!best || (r.rank ?? Infinity) < (best.rank ?? Infinity)) best = r;
  }
  return best;
}

export async function loadOasst(options: LoadOptions = {}): Promise<Conversation[]> {
  const file = DATASET_FILES.oasst;
  const lines = await readJsonLines(options.dir ?? dataDir(), file);
  if (lines === undefined) return [];
  const conversations: Conversation[] = [];
  for (const tree of validRecords(OasstTree, lines, file)) {
    const prompt = OasstNode.safeParse(tree.prompt);
    if (!prompt.success) continue;
    const turn = (node: OasstNode): Turn => ({
      ...(node.message_id ? { id: node.message_id } : {}),
      role: node.role === 'prompter' ? 'user' : node.role,
      content: node.text,
    });
    const turns: Turn[] = [];
    if (options.oasstReplies === 'all') {
      const visit = (node: OasstNode): void => {
        turns.push(turn(node));
        for (const reply of liveReplies(node)) visit(reply);
      };
      visit(prompt.data);
    } else {
      for (let node: OasstNode | undefined = prompt.data; node; node = bestReply(node)) turns.push(turn(node));
    }
    const lang: Lang = prompt.data.lang?.startsWith('zh') ? 'zh' : 'en';
    conversations.push({ id: tree.message_tree_id, source: 'oasst', lang, turns });
  }
  return take(conversations, options.limit);
}

// ---------------------------------------------------------------- KdConv

const KdConvDialogue = z.looseObject({
  name: z.string().optional(),
  messages: z.array(z.looseObject({ message: z.string() })).min(1),
});

export async function loadKdConv(options: LoadOptions = {}): Promise<Conversation[]> {
  const file = DATASET_FILES.kdconv;
  const data = await readJson(options.dir ?? dataDir(), file);
  if (data === undefined) return [];
  const dialogues = validEntries(KdConvDialogue, expectArray(data, file).map((d, i) => [i, d] as const), file);
  const conversations = dialogues.map(([index, dialogue]): Conversation => ({
    // The index in the source file, so ids stay stable when odd records are skipped.
    id: `kdconv-travel-${index}`,
    source: 'kdconv',
    lang: 'zh',
    // Human-human chats: the first speaker asks, so take them as the user and alternate.
    turns: dialogue.messages.map((m, i): Turn => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: m.message })),
    ...(dialogue.name ? { meta: { topic: dialogue.name } } : {}),
  }));
  return take(conversations, options.limit);
}

// ---------------------------------------------------------------- MemoryBank

const MemoryBankUser = z.looseObject({
  name: z.string().optional(),
  history: z.record(z.string(), z.array(z.looseObject({ query: text, response: text }))),
});

const ProbingLine = z.record(z.string(), z.array(z.string()));

export async function loadMemoryBank(lang: Lang, options: LoadOptions = {}): Promise<Conversation[]> {
  const source = lang === 'en' ? 'memorybank-en' : 'memorybank-cn';
  const file = DATASET_FILES[source];
  const dir = options.dir ?? dataDir();
  const data = await readJson(dir, file);
  if (data === undefined) return [];
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new DataFormatError(file, 'expected an object keyed by user name');
  }
  const probing = new Map<string, string[]>();
  const probeFile = PROBING_FILES[source];
  for (const line of validRecords(ProbingLine, (await readJsonLines(dir, probeFile)) ?? [], probeFile)) {
    for (const [name, questions] of Object.entries(line)) probing.set(name.trim(), questions);
  }
  const conversations = validEntries(MemoryBankUser, Object.entries(data), file).map(([key, user]): Conversation => {
    // Some names carry stray spaces (' Jason '); the probing file spells them trimmed.
    const name = (user.name ?? key).trim();
    const turns: Turn[] = [];
    // ISO dates sort chronologically as strings.
    for (const date of Object.keys(user.history).sort()) {
      for (const { query, response } of user.history[date]!) {
        turns.push({ role: 'user', speaker: name, content: query, time: date });
        turns.push({ role: 'assistant', content: response, time: date });
      }
    }
    const questions = probing.get(name) ?? probing.get(key.trim());
    return {
      id: `${source}-${name}`,
      source,
      lang,
      turns,
      ...(questions ? { qa: questions.map((question) => ({ question, evidence: [] })) } : {}),
      meta: { user: name },
    };
  });
  return take(conversations, options.limit);
}

// ---------------------------------------------------------------- MT-Bench

const MtBenchQuestion = z.looseObject({
  question_id: text,
  category: z.string().optional(),
  turns: z.array(z.string()).min(1),
});

/** The two-turn prompts as user-only conversations (there are no reference replies to replay). */
export async function loadMtBench(options: LoadOptions = {}): Promise<Conversation[]> {
  const file = DATASET_FILES.mtbench;
  const lines = await readJsonLines(options.dir ?? dataDir(), file);
  if (lines === undefined) return [];
  return take(validRecords(MtBenchQuestion, lines, file), options.limit).map((q) => ({
    id: `mtbench-${q.question_id}`,
    source: 'mtbench',
    lang: 'en',
    turns: q.turns.map((content): Turn => ({ role: 'user', content })),
    ...(q.category ? { meta: { category: q.category } } : {}),
  }));
}
