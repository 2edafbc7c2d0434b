/**
 * A store that only reads: every read goes to the wrapped store, every write is refused with
 * a ReadOnlyError before it reaches it. Used for `readOnly` memories (the inspector's default).
 */
import { ReadOnlyError } from '../../src/errors.js';
import type { MemoryStore } from './store.js';

export function readOnlyStore(store: MemoryStore, options: { withoutMoves?: boolean } = {}): MemoryStore {
  const refuse = (action: string) => () => Promise.reject(new ReadOnlyError(action));
  const listMoves = store.listMoves && !options.withoutMoves ? store.listMoves.bind(store) : undefined;
  return {
    specificationVersion: 'v1',
    uri: store.uri,
    listTurns: (scope, o) => store.listTurns(scope, o),
    getPage: (scope, id) => store.getPage(scope, id),
    listPages: (scope, o) => store.listPages(scope, o),
    search: (scope, o) => store.search(scope, o),
    ...(store.searchTurns ? { searchTurns: store.searchTurns.bind(store) } : {}),
    ...(store.listPageTurns ? { listPageTurns: store.listPageTurns.bind(store) } : {}),
    scopes: () => store.scopes(),
    pagesCoveringTurns: (scope, ids) => store.pagesCoveringTurns(scope, ids),
    counts: () => store.counts(),
    ...(store.pageCopies ? { pageCopies: store.pageCopies.bind(store) } : {}),
    ...(store.hotTokens ? { hotTokens: store.hotTokens.bind(store) } : {}),
    listTombstones: (scope) => store.listTombstones(scope),
    ...(listMoves ? { listMoves } : {}),
    getMeta: (key) => store.getMeta(key),
    addTurns: refuse('adding turns'),
    deleteTurns: refuse('deleting turns'),
    removePageCopies: refuse('removing page copies'),
    addPages: refuse('adding pages'),
    updatePage: refuse('updating a page'),
    // A look-only recall (rehearse: false) commits an empty batch; anything else is a write.
    updatePages: (_scope, updates) => (updates.length === 0 ? Promise.resolve() : Promise.reject(new ReadOnlyError("a recall's rehearsal (pass rehearse: false to only look)"))),
    deletePages: refuse('deleting pages'),
    addTombstones: refuse('adding tombstones'),
    deleteTombstones: refuse('deleting tombstones'),
    deleteMoves: refuse('deleting ladder history'),
    addMoves: refuse('recording ladder moves'),
    setMeta: refuse('writing store settings'),
    optimize: refuse('optimize()'),
    close: () => store.close(),
  };
}
