import { hash } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/** `"sha256:" + hex(SHA-256(bytes))`. */
export function sha256(text: string): string {
  // One-shot hash (Node >= 21.7): a third of createHash()'s cost for short inputs.
  return `sha256:${hash('sha256', text, 'hex')}`;
}

/**
 * The digest that binds reviews, proofs and audit records to one exact call:
 * `sha256:` + lowercase hex SHA-256 of the RFC 8785 canonical JSON of `{ tool, args }`.
 * `args` must already be parsed (see `parseArgs`).
 */
export function callDigest(tool: string, args: unknown): string {
  return sha256(canonicalJson({ tool, args: args ?? {} }));
}
