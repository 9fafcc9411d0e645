// Node-only entry (pg, an optional peer dependency): kept out of the main entry so @toolgate/core stays importable on edge runtimes.
export { postgresLedger, type PostgresLedgerOptions, type PostgresQueryable } from './ledger/postgres-ledger';
export type { GateLedger, LedgerEntry } from './ledger/ledger-types';
