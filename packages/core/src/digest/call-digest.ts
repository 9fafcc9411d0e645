import { sha256 } from '../platform/sha256';
import { canonicalJson } from './canonical-json';

/** `"sha256:" + hex(SHA-256(bytes))`: node:crypto on Node, a pure-JS SHA-256 in the edge build. */
export { sha256 };

/**
 * The digest that binds reviews, proofs and audit records to one exact call:
 * `sha256:` + lowercase hex SHA-256 of the RFC 8785 canonical JSON of `{ tool, args }`.
 * `args` must already be parsed (see `parseArgs`).
 */
export function callDigest(tool: string, args: unknown): string {
  return sha256(canonicalJson({ tool, args: args ?? {} }));
}
