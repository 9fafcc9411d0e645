import type * as NodeCrypto from 'node:crypto';
import { nodeOnly } from './node-only';

// Web-standard runtimes have no synchronous Ed25519: signing proofs and audit checkpoints, and
// verifying checkpoints, stay on Node (the review server). Verifying proofs (jose) works here.
export type KeyObject = NodeCrypto.KeyObject;

const INSTEAD = 'sign proofs and audit checkpoints on Node (the review server); verifying proofs works here';
const unavailable = (api: string) => (): never => {
  throw nodeOnly(`${api} (Ed25519 keys)`, INSTEAD);
};

export const createPrivateKey = unavailable('createPrivateKey') as unknown as typeof NodeCrypto.createPrivateKey;
export const createPublicKey = unavailable('createPublicKey') as unknown as typeof NodeCrypto.createPublicKey;
export const sign = unavailable('sign') as unknown as typeof NodeCrypto.sign;
export const verify = unavailable('verify') as unknown as typeof NodeCrypto.verify;
export const randomBytes = unavailable('randomBytes') as unknown as typeof NodeCrypto.randomBytes;
