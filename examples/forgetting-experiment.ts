/**
 * Forgetting over simulated months, offline: the same short conversation is stored for two
 * users, compacted into a page each, and aged with an injected clock under the FSRS-style
 * curve. One user asks about it after a month (a recall is a rehearsal: it strengthens the
 * page and restarts its clock); the other never does. At each checkpoint the example prints
 * the ladder moves and the tokens each memory still holds.
 *
 *   npx tsx examples/forgetting-experiment.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Memory, pageRetention, type ChatMessage } from 'opticmem';

/** A fact this example shows; a false one fails the run (exit code 1). */
function check(ok: boolean, fact: string): void {
  console.log(`${ok ? 'ok' : 'FAILED'}: ${fact}`);
  if (!ok) process.exitCode = 1;
}

const DAY = 86_400_000;
const start = Date.UTC(2025, 0, 6, 18, 30);
let now = start;

const conversation: ChatMessage[] = [
  { role: 'user', content: 'I finally bought the sailing dinghy from the club in Setubal. She is called Gaivota, a fourteen foot wooden boat with a red sail.' },
  { role: 'assistant', content: 'Congratulations on Gaivota! For a wooden hull use a marine spar varnish, sand with 220 grit between coats, and plan on six thin coats.' },
  { role: 'user', content: 'The club lets me use shed number 7 until the end of February, so I will varnish her on weekends.' },
  { role: 'assistant', content: 'Keep the shed above twelve degrees while the varnish cures, and tip off each coat with long strokes of a natural bristle brush.' },
  { role: 'user', content: 'My sister Marta flies in from Toronto on 14 March; we want to sail Gaivota to the Troia peninsula if the wind stays under fifteen knots.' },
];
const users = { rehearsed: { userId: 'maya' }, untouched: { userId: 'leo' } };

const dir = await mkdtemp(join(tmpdir(), 'opticmem-forgetting-'));
// Small pages (640 x 640 = 100 visual tokens) decode in seconds on a CPU; no hot tier is kept,
// so everything said goes onto a page.
const memory = await Memory.open({
  path: dir,
  profile: 'deepseek-ocr:small',
  tiers: { hotBudgetTokens: 1 },
  autoCompact: false,
  now: () => now,
  forgetting: { curve: 'fsrs' },
});

async function held(scope: { userId: string }): Promise<{ tier: string; visual: number; retention: number; text: number }> {
  const { turns, pages } = await memory.list(scope);
  const page = pages[0];
  return {
    tier: page?.tier ?? 'dropped',
    visual: pages.reduce((a, p) => a + p.visualTokens, 0),
    retention: page ? pageRetention(page, now, memory.curve) : 0,
    text: turns.reduce((a, t) => a + t.textTokens, 0),
  };
}

try {
  for (const scope of Object.values(users)) {
    await memory.add(conversation.map((m, i) => ({ ...m, createdAt: start + i * 60_000 })), scope);
    await memory.compact(scope, { all: true });
  }
  const textTokens = conversation.reduce((a, m) => a + memory.tokenizer.count(String(m.content)), 0);
  const owner = new Map<string, string>();
  for (const scope of Object.values(users)) for (const p of (await memory.list(scope)).pages) owner.set(p.id, scope.userId);
  console.log(`${conversation.length} turns (${textTokens} text tokens) stored for two users, one page each; FSRS curve, ratio ladder.`);
  console.log('A Small page can only shrink to Tiny (64 tokens); the 20x and 30x steps keep that image.\n');

  const checkpoints: [string, number][] = [
    ['1 week', 7],
    ['1 month', 30],
    ['3 months', 91],
    ['1 year', 365],
    ['3 years', 3 * 365],
    ['20 years', 20 * 365],
  ];
  let recalled = '';
  let rehearsedAhead = true;
  let neverGrew = true;
  const lastHeld = new Map<string, number>();
  let final: Record<string, Awaited<ReturnType<typeof held>>> = {};
  for (const [name, days] of checkpoints) {
    now = start + days * DAY;
    const result = await memory.age({ now });
    console.log(`+${name}: ${result.moved.length} moved, ${result.dropped.length} dropped`);
    for (const m of result.moved) console.log(`  ${owner.get(m.pageId)}: ${m.from} -> ${m.to} at retention ${m.retention.toFixed(2)}: ${m.visualTokensBefore} -> ${m.visualTokensAfter} visual tokens`);
    for (const d of result.dropped) console.log(`  ${owner.get(d.pageId)}: ${d.tier} -> dropped at retention ${d.retention.toFixed(2)} (a tombstone remains)`);
    final = {};
    for (const [who, scope] of Object.entries(users)) {
      const h = await held(scope);
      final[who] = h;
      neverGrew &&= h.text + h.visual <= (lastHeld.get(who) ?? Infinity);
      lastHeld.set(who, h.text + h.visual);
      console.log(`  ${scope.userId.padEnd(4)} (${who.padEnd(9)}) tier ${h.tier.padEnd(10)} retention ${h.retention.toFixed(2)}  tokens held ${h.text + h.visual}`);
    }
    if (days > 30) rehearsedAhead &&= final.rehearsed!.retention >= final.untouched!.retention && final.rehearsed!.visual >= final.untouched!.visual;
    if (days === 30) {
      // A question one month on: the recall is a rehearsal for Maya's page only.
      const hits = await memory.recall('what is the dinghy called and which shed is it in?', { scope: users.rehearsed, k: 1 });
      recalled = hits[0]?.text ?? '';
      console.log(`  maya asks about the dinghy: ${hits.length} page recalled, "${(hits[0]?.text ?? '').slice(0, 60)}..."`);
      const page = (await memory.list(users.rehearsed)).pages[0]!;
      console.log(`  its strength is now ${page.strength.toFixed(1)} days (Leo's is still ${(await memory.list(users.untouched)).pages[0]!.strength.toFixed(1)})`);
    }
  }
  console.log();
  check(recalled.includes('dinghy'), "a month on, recall finds Maya's page about the dinghy");
  check(neverGrew, 'a memory never holds more tokens than at the checkpoint before: pages only fade');
  check(rehearsedAhead, "after the recall, Maya's rehearsed page keeps at least the retention and tokens of Leo's untouched one");
  check(final.rehearsed!.retention > final.untouched!.retention, `after 20 years the rehearsed page is the better remembered (${final.rehearsed!.retention.toFixed(2)} vs ${final.untouched!.retention.toFixed(2)})`);
} finally {
  await memory.close();
  await rm(dir, { recursive: true, force: true });
}
