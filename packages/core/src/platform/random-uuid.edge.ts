/** A random v4 UUID from Web Crypto (every web-standard runtime has `crypto.randomUUID`). */
export function randomUUID(): `${string}-${string}-${string}-${string}-${string}` {
  return globalThis.crypto.randomUUID();
}
