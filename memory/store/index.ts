export { openLanceStore, type LanceStoreOptions } from './lance-open.js';
export { scopeFilter, sqlString } from './sql.js';
export { SCHEMA_VERSION } from './schema.js';
export type * from './store.js';
