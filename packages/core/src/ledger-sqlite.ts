// Node-only entry (node:sqlite): kept out of the main entry so @toolgate/core stays importable on edge runtimes.
export { sqliteLedger, type SqliteLedgerOptions } from './ledger/sqlite-ledger';
export type { GateLedger, LedgerEntry } from './ledger/ledger-types';
