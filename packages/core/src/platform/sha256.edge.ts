import { sha256 as sha256Bytes } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

const encoder = new TextEncoder();

/**
 * `"sha256:" + hex(SHA-256(UTF-8 bytes of text))`, in pure JavaScript for web-standard runtimes.
 * Synchronous like Node's (Web Crypto's digest is async, and the gate digests every call
 * synchronously). TextEncoder turns a lone surrogate into U+FFFD, as Node's string hashing does.
 */
export function sha256(text: string): string {
  return `sha256:${bytesToHex(sha256Bytes(encoder.encode(text)))}`;
}
