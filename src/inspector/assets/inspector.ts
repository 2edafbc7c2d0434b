/**
 * The inspector page: lists scopes, shows a scope's pages (zoomable images beside their decoded
 * text), hot turns, totals and ladder history, and searches its pages. Talks only to the JSON
 * API of the server that serves it; builds the DOM with text nodes, never with HTML strings.
 */

interface Info {
  db: string;
  allowWrite: boolean;
  curve: string;
  ladder: string[];
  now: number;
}

interface ExactScope {
  userId: string;
  agentId: string;
  sessionId: string;
}

interface ScopeSummary extends ExactScope {
  turns: number;
  pages: number;
}

interface PageSummary {
  id: string;
  tier: string;
  profile: string;
  width: number;
  height: number;
  ratio: number;
  targetRatio: number;
  textTokens: number;
  visualTokens: number;
  fidelity: number | null;
  turnCount: number;
  startTime: number;
  endTime: number;
  createdAt: number;
  updatedAt: number;
  ageDays: number;
  retention: number;
  strength: number;
  importance: number;
  recallCount: number;
  lastRecalledAt: number | null;
  pinned: boolean;
  decoded: boolean;
}

interface TurnSummary {
  id: string;
  role: string;
  name: string;
  content: string;
  textTokens: number;
  createdAt: number;
}

interface Totals {
  hotTurns: number;
  hotTextTokens: number;
  pages: number;
  pinnedPages: number;
  pageTextTokens: number;
  pageVisualTokens: number;
  heldTokens: number;
  originalTokens: number;
  savedTokens: number;
  ratio: number | null;
  meanFidelity: number | null;
  droppedPages: number;
  droppedTurns: number;
}

interface ScopeView {
  scope: ExactScope;
  now: number;
  totals: Totals;
  turns: TurnSummary[];
  pages: PageSummary[];
  truncated: boolean;
}

interface SearchHit {
  pageId: string;
  score: number;
  tier: string;
  startTime: number;
  endTime: number;
  text: string;
}

interface TimelineEvent {
  at: number;
  kind: 'compacted' | 'moved' | 'dropped';
  pageId: string;
  from: string;
  to: string;
  retention?: number;
  visualTokensBefore?: number;
  visualTokensAfter?: number;
  turnCount?: number;
  reason?: string;
}

interface ApiError {
  error?: { message?: string };
}

type Child = Node | string | number | null | undefined | false;

/** Pages whose images load at once; the rest load as they scroll into view. */
const EAGER_IMAGES = 12;

const state: {
  info: Info | undefined;
  scope: ExactScope | undefined;
  terms: string[];
  /** Bumped on every scope switch so late answers for the previous scope are ignored. */
  generation: number;
} = { info: undefined, scope: undefined, terms: [], generation: 0 };

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(key, value === true ? '' : value);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

function scopeParams(scope: ExactScope): Record<string, string> {
  const p: Record<string, string> = {};
  if (scope.userId) p.user = scope.userId;
  if (scope.agentId) p.agent = scope.agentId;
  if (scope.sessionId) p.session = scope.sessionId;
  return p;
}

function apiUrl(path: string, params: Record<string, string> = {}): string {
  const q = new URLSearchParams(params).toString();
  return q ? `${path}?${q}` : path;
}

async function request<T>(method: string, path: string, params: Record<string, string> = {}, body?: unknown): Promise<T> {
  const res = await fetch(apiUrl(path, params), {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const data = (await res.json().catch(() => ({}))) as T & ApiError;
  if (!res.ok) throw new Error(data.error?.message ?? `${method} ${path} answered ${res.status}`);
  return data;
}

function showError(error: unknown): void {
  const el = byId('error');
  el.textContent = error instanceof Error ? error.message : String(error);
  el.hidden = false;
}

function clearError(): void {
  byId('error').hidden = true;
}

// ---- formatting ----------------------------------------------------------------------------

const pad = (n: number) => String(n).padStart(2, '0');

function fmtTime(ms: number | null): string {
  if (ms === null || ms <= 0) return 'never';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fmtAge(days: number): string {
  if (days < 1 / 24) return `${Math.round(days * 1440)} min`;
  if (days < 1) return `${(days * 24).toFixed(1)} h`;
  return `${days.toFixed(1)} d`;
}

function fmtRange(from: number, to: number): string {
  const a = fmtTime(from);
  const b = fmtTime(to);
  return a === b ? a : `${a} – ${b}`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtPct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)}%`);
const fmtRatio = (v: number | null) => (v === null ? '–' : `${v.toFixed(2)}×`);

function scopeLabel(s: ExactScope): string {
  return [s.userId && `user ${s.userId}`, s.agentId && `agent ${s.agentId}`, s.sessionId && `session ${s.sessionId}`].filter(Boolean).join(' · ');
}

function sameScope(a: ExactScope | undefined, b: ExactScope): boolean {
  return !!a && a.userId === b.userId && a.agentId === b.agentId && a.sessionId === b.sessionId;
}

// ---- highlighting --------------------------------------------------------------------------

function termPattern(terms: readonly string[]): RegExp | undefined {
  if (terms.length === 0) return undefined;
  const escaped = [...terms].sort((a, b) => b.length - a.length).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`(${escaped.join('|')})`, 'giu');
}

/** Put `text` into `el` with every term wrapped in <mark>. */
function highlightInto(el: HTMLElement, text: string, terms: readonly string[]): number {
  const pattern = termPattern(terms);
  if (!pattern) {
    el.replaceChildren(text);
    return 0;
  }
  const parts: Node[] = [];
  let last = 0;
  let hits = 0;
  for (const m of text.matchAll(pattern)) {
    const at = m.index ?? 0;
    if (at > last) parts.push(document.createTextNode(text.slice(last, at)));
    parts.push(h('mark', {}, m[0]));
    last = at + m[0].length;
    hits++;
  }
  if (last < text.length) parts.push(document.createTextNode(text.slice(last)));
  el.replaceChildren(...parts);
  return hits;
}

/** Lines holding a term, with a line of context each, so a hit reads at a glance. */
function snippet(text: string, terms: readonly string[]): string {
  const lines = text.split('\n');
  const pattern = termPattern(terms);
  const keep = new Set<number>();
  if (pattern) {
    lines.forEach((line, i) => {
      pattern.lastIndex = 0;
      if (pattern.test(line)) for (let j = Math.max(0, i - 1); j <= Math.min(lines.length - 1, i + 1); j++) keep.add(j);
    });
  }
  if (keep.size === 0) return lines.slice(0, 6).join('\n');
  const out: string[] = [];
  let prev = -2;
  for (const i of [...keep].sort((a, b) => a - b)) {
    if (i !== prev + 1 && out.length) out.push('…');
    out.push(lines[i] ?? '');
    prev = i;
  }
  return out.join('\n');
}

// ---- scope list ----------------------------------------------------------------------------

async function loadScopes(): Promise<ScopeSummary[]> {
  const { scopes } = await request<{ scopes: ScopeSummary[] }>('GET', '/api/scopes');
  const list = byId('scope-list');
  const items: HTMLElement[] = [];
  let user: string | undefined;
  for (const s of scopes) {
    if (s.userId !== user) {
      user = s.userId;
      items.push(h('li', { class: 'user' }, s.userId ? `user ${s.userId}` : 'no user'));
    }
    const rest = [s.agentId && `agent ${s.agentId}`, s.sessionId && `session ${s.sessionId}`].filter(Boolean).join(' · ') || 'all sessions';
    const button = h(
      'button',
      { type: 'button', class: 'scope-button', 'data-scope': JSON.stringify(s), 'aria-current': sameScope(state.scope, s) ? 'true' : 'false' },
      rest,
      h('small', {}, `${plural(s.pages, 'page')} · ${plural(s.turns, 'hot turn')}`),
    );
    button.addEventListener('click', () => void selectScope(s));
    items.push(h('li', {}, button));
  }
  if (scopes.length === 0) items.push(h('li', { class: 'muted' }, 'This store holds no turns or pages yet.'));
  list.replaceChildren(...items);
  return scopes;
}

// ---- one scope -----------------------------------------------------------------------------

async function selectScope(scope: ExactScope): Promise<void> {
  clearError();
  state.scope = scope;
  state.terms = [];
  const generation = ++state.generation;
  history.replaceState(null, '', `#${new URLSearchParams(scopeParams(scope)).toString()}`);
  for (const b of document.querySelectorAll<HTMLButtonElement>('.scope-button')) {
    const s = JSON.parse(b.dataset.scope ?? '{}') as ExactScope;
    b.setAttribute('aria-current', sameScope(scope, s) ? 'true' : 'false');
  }
  byId('placeholder').hidden = true;
  byId('scope-view').hidden = false;
  byId('scope-title').textContent = scopeLabel(scope);
  byId('search-results').replaceChildren();
  byId('search-status').textContent = '';
  try {
    const params = scopeParams(scope);
    const [view, timeline] = await Promise.all([
      request<ScopeView>('GET', '/api/scope', params),
      request<{ history: 'full' | 'partial'; events: TimelineEvent[] }>('GET', '/api/timeline', params),
    ]);
    if (generation !== state.generation) return;
    renderTotals(view.totals);
    renderPages(view, scope, generation);
    renderTurns(view.turns);
    renderTimeline(timeline.events, timeline.history);
  } catch (error) {
    showError(error);
  }
}

function renderTotals(t: Totals): void {
  const saved = t.originalTokens > 0 ? t.savedTokens / t.originalTokens : null;
  const card = (label: string, value: string, title?: string) => h('div', { class: 'total', title }, h('div', { class: 'value' }, value), h('div', { class: 'label' }, label));
  byId('totals').replaceChildren(
    card('tokens held now', fmtInt(t.heldTokens), 'hot text tokens + visual tokens of the pages'),
    card('tokens as plain text', fmtInt(t.originalTokens), 'hot text tokens + text tokens of the turns on pages'),
    card('saved', `${fmtInt(t.savedTokens)} (${fmtPct(saved)})`),
    card('page compression', fmtRatio(t.ratio), 'text tokens / visual tokens over all pages'),
    card('mean fidelity', fmtPct(t.meanFidelity)),
    card('pages', `${t.pages}${t.pinnedPages ? ` (${t.pinnedPages} pinned)` : ''}`),
    card('hot turns', `${t.hotTurns} · ${fmtInt(t.hotTextTokens)} tok`),
    card('dropped pages', `${t.droppedPages}${t.droppedTurns ? ` · ${t.droppedTurns} turns` : ''}`),
  );
}

const textQueue: (() => Promise<void>)[] = [];
let textQueueRunning = false;

/** Decoding can take a second a page on the server; ask for one text at a time. */
function queueText(job: () => Promise<void>): void {
  textQueue.push(job);
  if (textQueueRunning) return;
  textQueueRunning = true;
  void (async () => {
    while (textQueue.length) await textQueue.shift()!().catch(showError);
    textQueueRunning = false;
  })();
}

function renderPages(view: ScopeView, scope: ExactScope, generation: number): void {
  const params = scopeParams(scope);
  byId('pages-title').textContent = `Pages (${view.totals.pages}${view.truncated ? `, newest ${view.pages.length} shown` : ''})`;
  textQueue.length = 0;
  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        observer.unobserve(entry.target);
        const pre = entry.target as HTMLElement;
        const id = pre.dataset.page ?? '';
        queueText(async () => {
          if (generation !== state.generation) return;
          const { text } = await request<{ text: string }>('GET', '/api/page/text', { ...params, id });
          pre.dataset.text = text;
          highlightInto(pre, text, state.terms);
        });
      }
    },
    { rootMargin: '400px' },
  );
  const cards = view.pages.map((p, i) => {
    const src = apiUrl('/api/page.png', { ...params, id: p.id });
    const img = h('img', { src, alt: `page ${p.id.slice(0, 8)}, ${p.width}×${p.height}`, width: String(p.width), height: String(p.height), loading: i < EAGER_IMAGES ? 'eager' : 'lazy', title: 'Click to enlarge' });
    img.addEventListener('click', () => openViewer(src, `page ${p.id} · ${p.tier} · ${p.width}×${p.height}`));
    const text = h('pre', { class: 'text', 'data-page': p.id, 'aria-label': 'decoded text' }, p.decoded ? 'loading…' : 'decoding…');
    observer.observe(text);
    const row = (label: string, value: Child) => [h('dt', {}, label), h('dd', {}, value)];
    const meta = h(
      'dl',
      { class: 'meta' },
      ...row('tier', h('span', { class: 'tier' }, p.tier)),
      ...row('profile', p.profile),
      ...row('size', `${p.width}×${p.height}`),
      ...row('ratio', `${fmtRatio(p.ratio)} (target ${fmtRatio(p.targetRatio)})`),
      ...row('text tokens', fmtInt(p.textTokens)),
      ...row('visual tokens', fmtInt(p.visualTokens)),
      ...row('fidelity', fmtPct(p.fidelity)),
      ...row('turns', p.turnCount),
      ...row('said', fmtRange(p.startTime, p.endTime)),
      ...row('created', fmtTime(p.createdAt)),
      ...row('age', fmtAge(p.ageDays)),
      ...row('retention', fmtPct(p.retention)),
      ...row('strength', `${p.strength.toFixed(2)} d × ${p.importance}`),
      ...row('recalled', `${p.recallCount}× · last ${fmtTime(p.lastRecalledAt)}`),
      ...row('pinned', p.pinned ? h('span', { class: 'pin' }, 'yes, never fades') : 'no'),
    );
    const card = h('article', { class: 'page', id: `page-${p.id}`, 'data-page': p.id }, h('figure', {}, img, h('figcaption', {}, `${p.id.slice(0, 8)} · click to enlarge`)), meta, text);
    if (state.info?.allowWrite) card.append(pageActions(p, scope));
    return card;
  });
  byId('pages').replaceChildren(...(cards.length ? cards : [h('p', { class: 'muted' }, 'No pages yet: every turn of this scope is still hot text.')]));
}

function pageActions(p: PageSummary, scope: ExactScope): HTMLElement {
  const params = { ...scopeParams(scope), id: p.id };
  const pin = h('button', { type: 'button', 'data-action': 'pin' }, p.pinned ? 'Unpin' : 'Pin');
  pin.addEventListener('click', () =>
    void request('POST', '/api/page/pin', params, { pinned: !p.pinned })
      .then(() => selectScope(scope))
      .catch(showError),
  );
  const del = h('button', { type: 'button', class: 'danger', 'data-action': 'delete' }, 'Delete page');
  del.addEventListener('click', () => {
    if (!confirm(`Delete page ${p.id}? It leaves a tombstone in the timeline.`)) return;
    void request('DELETE', '/api/page', params)
      .then(() => refresh(scope))
      .catch(showError);
  });
  return h('div', { class: 'actions' }, pin, del);
}

async function refresh(scope: ExactScope): Promise<void> {
  const scopes = await loadScopes();
  const still = scopes.find((s) => sameScope(scope, s));
  if (still) await selectScope(still);
  else {
    state.scope = undefined;
    byId('scope-view').hidden = true;
    byId('placeholder').hidden = false;
  }
}

function renderTurns(turns: TurnSummary[]): void {
  byId('turns-title').textContent = `Hot turns (${turns.length})`;
  const items = turns.map((t) =>
    h('li', {}, h('div', { class: 'who' }, `${t.name || t.role} · ${fmtTime(t.createdAt)} · ${fmtInt(t.textTokens)} tok`), h('p', {}, t.content)),
  );
  byId('turns').replaceChildren(...(items.length ? items : [h('li', { class: 'muted' }, 'No hot turns: everything is on pages.')]));
}

function renderTimeline(events: TimelineEvent[], history: 'full' | 'partial'): void {
  byId('timeline-note').textContent =
    history === 'full' ? 'Compactions, moves down the forgetting ladder and drops, oldest first.' : 'This store keeps no record of ladder moves; compactions and drops only.';
  const items = events.map((e) => {
    const page = h('a', { href: `#page-${e.pageId}`, 'data-page-link': e.pageId }, e.pageId.slice(0, 8));
    page.addEventListener('click', (ev) => {
      ev.preventDefault();
      flashPage(e.pageId);
    });
    const what =
      e.kind === 'compacted'
        ? [`${e.turnCount ?? '?'} turns compacted into page `, page, ` (${e.to})`]
        : e.kind === 'moved'
          ? [
              'page ',
              page,
              ` ${e.from} → ${e.to}`,
              e.retention !== undefined ? ` at retention ${fmtPct(e.retention)}` : '',
              e.visualTokensBefore !== undefined ? `, ${e.visualTokensBefore} → ${e.visualTokensAfter} visual tokens` : '',
            ]
          : ['page ', page, ` ${e.from} → dropped`, e.reason ? ` (${e.reason})` : ''];
    return h('li', { class: e.kind }, h('time', {}, fmtTime(e.at)), ...what);
  });
  byId('timeline').replaceChildren(...(items.length ? items : [h('li', { class: 'muted' }, 'Nothing has happened to this scope yet.')]));
}

function flashPage(id: string): void {
  const card = document.getElementById(`page-${id}`);
  if (!card) return;
  card.scrollIntoView({ behavior: 'smooth', block: 'center' });
  card.classList.add('flash');
  setTimeout(() => card.classList.remove('flash'), 1600);
}

// ---- search --------------------------------------------------------------------------------

async function runSearch(query: string): Promise<void> {
  const scope = state.scope;
  if (!scope) return;
  clearError();
  const status = byId('search-status');
  const list = byId('search-results');
  if (!query.trim()) {
    state.terms = [];
    list.replaceChildren();
    status.textContent = '';
    rehighlightPages();
    return;
  }
  status.textContent = 'Searching…';
  try {
    const { hits, terms } = await request<{ hits: SearchHit[]; terms: string[] }>('GET', '/api/search', { ...scopeParams(scope), q: query, k: '10' });
    if (!sameScope(state.scope, scope)) return;
    state.terms = terms;
    status.textContent = hits.length ? `${hits.length === 1 ? '1 page matches' : `${hits.length} pages match`} “${query}”.` : `No page matches “${query}”.`;
    list.replaceChildren(
      ...hits.map((hit) => {
        const show = h('button', { type: 'button' }, 'Show page');
        show.addEventListener('click', () => flashPage(hit.pageId));
        const pre = h('pre', { class: 'text' });
        highlightInto(pre, snippet(hit.text, terms), terms);
        return h(
          'li',
          { class: 'hit', 'data-page': hit.pageId },
          h('div', { class: 'hit-head' }, h('span', { class: 'tier' }, hit.tier), h('span', {}, `score ${hit.score.toFixed(2)}`), h('span', {}, fmtRange(hit.startTime, hit.endTime)), show),
          pre,
        );
      }),
    );
    rehighlightPages();
  } catch (error) {
    status.textContent = '';
    showError(error);
  }
}

function rehighlightPages(): void {
  for (const pre of document.querySelectorAll<HTMLElement>('#pages pre.text')) {
    if (pre.dataset.text !== undefined) highlightInto(pre, pre.dataset.text, state.terms);
  }
}

// ---- image viewer: click to enlarge, wheel to zoom at the cursor, drag to pan ---------------

const viewer = { scale: 1, x: 0, y: 0, dragging: false, lastX: 0, lastY: 0 };

function applyView(): void {
  byId<HTMLImageElement>('viewer-image').style.transform = `translate(${viewer.x}px, ${viewer.y}px) scale(${viewer.scale})`;
  byId('viewer-scale').textContent = `${Math.round(viewer.scale * 100)}%`;
}

function fitView(): void {
  const stage = byId('viewer-stage').getBoundingClientRect();
  const img = byId<HTMLImageElement>('viewer-image');
  if (!img.naturalWidth) return;
  viewer.scale = Math.min(stage.width / img.naturalWidth, stage.height / img.naturalHeight, 4);
  viewer.x = (stage.width - img.naturalWidth * viewer.scale) / 2;
  viewer.y = (stage.height - img.naturalHeight * viewer.scale) / 2;
  applyView();
}

/** Zoom by `factor` keeping the image point under (cx, cy) in place. */
function zoomAt(factor: number, cx?: number, cy?: number): void {
  const stage = byId('viewer-stage').getBoundingClientRect();
  const px = (cx ?? stage.left + stage.width / 2) - stage.left;
  const py = (cy ?? stage.top + stage.height / 2) - stage.top;
  const next = Math.min(16, Math.max(0.1, viewer.scale * factor));
  viewer.x = px - ((px - viewer.x) * next) / viewer.scale;
  viewer.y = py - ((py - viewer.y) * next) / viewer.scale;
  viewer.scale = next;
  applyView();
}

function openViewer(src: string, title: string): void {
  const img = byId<HTMLImageElement>('viewer-image');
  byId('viewer-title').textContent = title;
  byId('viewer').hidden = false;
  img.onload = () => fitView();
  img.src = src;
  if (img.complete && img.naturalWidth) fitView();
}

function closeViewer(): void {
  byId('viewer').hidden = true;
}

function setUpViewer(): void {
  const stage = byId('viewer-stage');
  stage.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX, e.clientY);
    },
    { passive: false },
  );
  stage.addEventListener('pointerdown', (e) => {
    viewer.dragging = true;
    viewer.lastX = e.clientX;
    viewer.lastY = e.clientY;
    stage.setPointerCapture(e.pointerId);
    stage.classList.add('dragging');
  });
  stage.addEventListener('pointermove', (e) => {
    if (!viewer.dragging) return;
    viewer.x += e.clientX - viewer.lastX;
    viewer.y += e.clientY - viewer.lastY;
    viewer.lastX = e.clientX;
    viewer.lastY = e.clientY;
    applyView();
  });
  const stop = () => {
    viewer.dragging = false;
    stage.classList.remove('dragging');
  };
  stage.addEventListener('pointerup', stop);
  stage.addEventListener('pointercancel', stop);
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-zoom]')) {
    b.addEventListener('click', () => {
      const z = b.dataset.zoom;
      if (z === 'in') zoomAt(1.25);
      else if (z === 'out') zoomAt(0.8);
      else if (z === 'fit') fitView();
      else if (z === 'actual') zoomAt(1 / viewer.scale);
      else closeViewer();
    });
  }
  document.addEventListener('keydown', (e) => {
    if (byId('viewer').hidden) return;
    if (e.key === 'Escape') closeViewer();
    else if (e.key === '+' || e.key === '=') zoomAt(1.25);
    else if (e.key === '-') zoomAt(0.8);
    else if (e.key === '0') fitView();
  });
}

// ---- start ---------------------------------------------------------------------------------

async function start(): Promise<void> {
  setUpViewer();
  byId('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void runSearch(byId<HTMLInputElement>('search-input').value);
  });
  byId('delete-scope').addEventListener('click', () => {
    const scope = state.scope;
    if (!scope || !confirm(`Delete every hot turn and page of ${scopeLabel(scope)}?`)) return;
    void request('DELETE', '/api/scope', scopeParams(scope))
      .then(() => refresh(scope))
      .catch(showError);
  });
  try {
    const info = await request<Info>('GET', '/api/info');
    state.info = info;
    byId('store').textContent = info.db;
    byId('store').title = `${info.db} · curve ${info.curve} · ladder ${info.ladder.join(' → ')}`;
    const mode = byId('mode');
    mode.textContent = info.allowWrite ? 'writes allowed' : 'read-only';
    mode.classList.toggle('write', info.allowWrite);
    byId('delete-scope').hidden = !info.allowWrite;
    const scopes = await loadScopes();
    // A scope in the address (#user=…&session=…) opens directly, so links can be shared.
    const wanted = new URLSearchParams(location.hash.slice(1));
    const fromHash = scopes.find((s) => s.userId === (wanted.get('user') ?? '') && s.agentId === (wanted.get('agent') ?? '') && s.sessionId === (wanted.get('session') ?? ''));
    if (fromHash) await selectScope(fromHash);
  } catch (error) {
    showError(error);
  }
}

void start();
