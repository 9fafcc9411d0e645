// Ed25519 key handling for proofs and audit checkpoints (synchronous signing inside a store
// transaction needs node:crypto). The edge build swaps in `node-crypto.edge.ts`.
export { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
