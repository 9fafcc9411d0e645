export type { RedactOptions } from './redact';
