/**
 * One long stream of chat turns per language, interleaving conversations from every available
 * source so a page mixes styles (casual LoCoMo chat, OASST answers, MemoryBank companionship).
 * Falls back to the repo's own fixtures when ../shared/data is absent.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/internal/package-root.js';
import type { RenderTurn } from '../../renderers/text-layout.js';
import { loadDataset, type Conversation, type DatasetName } from '../lib/datasets.js';

export interface ChatStream {
  readonly turns: RenderTurn[];
  readonly sources: string[];
}
export type ChatStreams = Readonly<Record<'en' | 'zh', ChatStream>>;

const SOURCES: Record<'en' | 'zh', DatasetName[]> = { en: ['locomo', 'oasst', 'memorybank-en'], zh: ['kdconv', 'memorybank-cn'] };
const FIXTURES = { en: 'conversation-en.json', zh: 'conversation-zh.json' };

/** Round-robin over sources, `turnsPer` turns of one conversation at a time, up to `maxChars`. */
function interleave(bySource: Conversation[][], turnsPer: number, maxChars: number): RenderTurn[] {
  const out: RenderTurn[] = [];
  let chars = 0;
  const cursors = bySource.map(() => ({ conv: 0, turn: 0 }));
  for (let progress = true; progress && chars < maxChars; ) {
    progress = false;
    bySource.forEach((convs, s) => {
      const c = cursors[s]!;
      const conv = convs[c.conv];
      if (!conv || chars >= maxChars) return;
      for (const t of conv.turns.slice(c.turn, c.turn + turnsPer)) {
        if (!t.content.trim()) continue;
        out.push({ role: t.role, content: t.content, ...(t.speaker ? { label: `${t.speaker}:` } : {}) });
        chars += t.content.length;
      }
      c.turn += turnsPer;
      if (c.turn >= Math.min(conv.turns.length, 4 * turnsPer)) {
        c.conv++;
        c.turn = 0;
      }
      progress = true;
    });
  }
  return out;
}

export async function loadChatStreams(maxChars = { en: 160_000, zh: 60_000 }): Promise<ChatStreams> {
  const result = {} as Record<'en' | 'zh', ChatStream>;
  for (const lang of ['en', 'zh'] as const) {
    const loaded = await Promise.all(SOURCES[lang].map((name) => loadDataset(name)));
    const present = SOURCES[lang].filter((_, i) => loaded[i]!.length > 0);
    if (present.length > 0) {
      result[lang] = { turns: interleave(loaded.filter((l) => l.length > 0), 6, maxChars[lang]), sources: present };
    } else {
      const turns = JSON.parse(readFileSync(join(packageRoot(), 'test', 'fixtures', FIXTURES[lang]), 'utf8')) as RenderTurn[];
      // The fixtures are short; repeat them so full pages can be formed.
      result[lang] = { turns: Array.from({ length: 20 }, () => turns).flat(), sources: [`fixtures/${FIXTURES[lang]} (repeated)`] };
    }
  }
  return result;
}
