/**
 * Dated conversations for the forgetting experiment: sessions with the time they were held,
 * turns with ids, and questions whose evidence is a set of turn ids. Read from LoCoMo and
 * MemoryBank in the shared data folder (`eval/lib/datasets.ts`), or from the project's own
 * fixture when that folder is missing.
 */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../../src/internal/package-root.js';
import { dataDir, DATASET_FILES, loadLoCoMo, loadMemoryBank, type Conversation, type Lang } from '../lib/datasets.js';
import { parseLocomoTime } from '../memory/benchmark.js';

export interface DatedTurn {
  /** The source's id (LoCoMo dia_id such as 'D3:7'); evidence refers to these. */
  readonly id: string;
  readonly role: 'user' | 'assistant';
  /** Speaker name, drawn as the turn's label on a page. */
  readonly name?: string;
  readonly content: string;
}

export interface DatedSession {
  /** When the session was held, ms since epoch. */
  readonly time: number;
  readonly turns: readonly DatedTurn[];
}

export interface DatedQuestion {
  readonly question: string;
  /** Turn ids that hold the answer; empty when the source gives none (MemoryBank probes). */
  readonly evidence: readonly string[];
}

export interface DatedConversation {
  readonly id: string;
  readonly source: 'locomo' | 'memorybank-en' | 'memorybank-cn' | 'fixture';
  readonly lang: Lang;
  readonly sessions: readonly DatedSession[];
  readonly questions: readonly DatedQuestion[];
}

export interface ExperimentData {
  readonly conversations: readonly DatedConversation[];
  /** Where the data came from, for the report. */
  readonly description: string;
  /** True when the shared data folder was missing (or not asked for) and the repo fixture was used. */
  readonly fixture: boolean;
}

/** How much data a run takes. */
export interface DataSelection {
  readonly locomoConversations: number;
  /** Keep only the first n sessions of each LoCoMo conversation (undefined: all). */
  readonly locomoSessions?: number;
  readonly memoryBankUsers: { readonly en: number; readonly zh: number };
  /** Keep only the first n days of each MemoryBank user (undefined: all ten). */
  readonly memoryBankDays?: number;
}

export const FIXTURE_FILE = join('test', 'fixtures', 'dated-conversation-en.json');

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

const FixtureSchema = z.object({
  id: z.string(),
  sessions: z.array(
    z.object({
      time: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'time must be an ISO date'),
      turns: z.array(z.object({ id: z.string(), role: z.enum(['user', 'assistant']), speaker: z.string().optional(), content: z.string().min(1) })).min(1),
    }),
  ),
  qa: z.array(z.object({ question: z.string(), evidence: z.array(z.string()).min(1) })),
});

export async function loadFixture(root: string = packageRoot()): Promise<DatedConversation> {
  const raw = FixtureSchema.parse(JSON.parse(await readFile(join(root, FIXTURE_FILE), 'utf8')));
  return {
    id: raw.id,
    source: 'fixture',
    lang: 'en',
    sessions: raw.sessions.map((s) => ({
      time: Date.parse(s.time),
      turns: s.turns.map((t) => ({ id: t.id, role: t.role, ...(t.speaker ? { name: t.speaker } : {}), content: t.content })),
    })),
    questions: raw.qa.map((q) => ({ question: q.question, evidence: q.evidence })),
  };
}

/** Consecutive turns with the same source time form a session. */
function sessionsOf(c: Conversation, timeOf: (time: string) => number | undefined, idOf: (index: number, time: string) => string): DatedSession[] {
  const sessions: { time: number; turns: DatedTurn[]; key: string }[] = [];
  c.turns.forEach((t, i) => {
    const key = t.time ?? '';
    const time = timeOf(key);
    if (time === undefined) return; // undated turns cannot be placed on the timeline
    let session = sessions.at(-1);
    if (!session || session.key !== key) {
      session = { time, turns: [], key };
      sessions.push(session);
    }
    session.turns.push({
      id: t.id ?? idOf(i, key),
      role: t.role === 'user' ? 'user' : 'assistant',
      ...(t.speaker ? { name: t.speaker } : {}),
      content: t.content,
    });
  });
  // Sessions must move forward in time for the simulated clock.
  return sessions.filter((s, i) => i === 0 || s.time > sessions[i - 1]!.time).map(({ time, turns }) => ({ time, turns }));
}

/** LoCoMo's answerable categories (1-4); category 5 is adversarial, its answer is not in the talk. */
const ANSWERABLE = new Set(['1', '2', '3', '4']);

function locomoConversation(c: Conversation, maxSessions: number | undefined): DatedConversation {
  const sessions = sessionsOf(c, parseLocomoTime, (i) => `T${i}`).slice(0, maxSessions);
  const ids = new Set(sessions.flatMap((s) => s.turns.map((t) => t.id)));
  const questions = (c.qa ?? [])
    .filter((q) => ANSWERABLE.has(String(q.category)) && q.evidence.length > 0 && q.evidence.every((e) => ids.has(e)))
    .map((q) => ({ question: q.question, evidence: q.evidence }));
  return { id: c.id, source: 'locomo', lang: 'en', sessions, questions };
}

function memoryBankConversation(c: Conversation, maxDays: number | undefined): DatedConversation {
  // MemoryBank gives a date per day of chat and no hour; each day is placed at 12:00 UTC.
  const sessions = sessionsOf(
    c,
    (date) => {
      const t = Date.parse(date);
      return Number.isNaN(t) ? undefined : t + 12 * HOUR_MS;
    },
    (i, date) => `${date}#${i}`,
  ).slice(0, maxDays);
  return {
    id: c.id,
    source: c.source === 'memorybank-cn' ? 'memorybank-cn' : 'memorybank-en',
    lang: c.lang,
    sessions,
    questions: (c.qa ?? []).map((q) => ({ question: q.question, evidence: [] })),
  };
}

/** A folder as reports show it: relative to the repository root, so reports hold no machine paths. */
function shown(dir: string): string {
  return relative(packageRoot(), dir) || '.';
}

/**
 * LoCoMo and MemoryBank as selected, or the repo fixture when `fixture` is asked for or the
 * data folder holds neither.
 */
export async function loadExperimentData(selection: DataSelection, options: { fixture?: boolean; dir?: string } = {}): Promise<ExperimentData> {
  const dir = options.dir ?? dataDir();
  if (!options.fixture) {
    const locomo = (await loadLoCoMo({ dir, limit: selection.locomoConversations })).map((c) => locomoConversation(c, selection.locomoSessions));
    const en = (await loadMemoryBank('en', { dir, limit: selection.memoryBankUsers.en })).map((c) => memoryBankConversation(c, selection.memoryBankDays));
    const zh = (await loadMemoryBank('zh', { dir, limit: selection.memoryBankUsers.zh })).map((c) => memoryBankConversation(c, selection.memoryBankDays));
    const conversations = [...locomo, ...en, ...zh].filter((c) => c.sessions.length > 1);
    if (conversations.length > 0) {
      const parts = [
        locomo.length ? `LoCoMo ${locomo.map((c) => c.id).join(', ')} (${DATASET_FILES.locomo}${selection.locomoSessions ? `, first ${selection.locomoSessions} sessions` : ''})` : '',
        en.length + zh.length
          ? `MemoryBank ${[...en, ...zh].map((c) => c.id.replace(/^memorybank-(en|cn)-/, '')).join(', ')} (${DATASET_FILES['memorybank-en']}, ${DATASET_FILES['memorybank-cn']}${selection.memoryBankDays ? `, first ${selection.memoryBankDays} days` : ''})`
          : '',
      ].filter(Boolean);
      return { conversations, description: `${parts.join('; ')} from ${shown(dir)}`, fixture: false };
    }
  }
  const fixture = await loadFixture();
  const why = options.fixture ? 'asked for' : `the data folder ${shown(dir)} holds neither LoCoMo nor MemoryBank`;
  return { conversations: [fixture], description: `the repo fixture ${FIXTURE_FILE} (${why})`, fixture: true };
}
