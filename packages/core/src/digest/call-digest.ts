import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/** `"sha256:" + hex(SHA-256(bytes))`. */
export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}

/**
 * The digest that binds reviews, proofs and audit records to one exact call:
 * `sha256:` + lowercase hex SHA-256 of the RFC 8785 canonical JSON of `{ tool, args }`.
 * `args` must already be parsed (see `parseArgs`).
 */
export function callDigest(tool: string, args: unknown): string {
  return sha256(canonicalJson({ tool, args: args ?? {} }));
}
