import { PolicyError } from '../errors';
import type { Policy } from './schema';

function noFiles(path: string): PolicyError {
  const issue = `(file): cannot read ${path}: this runtime has no file system (edge build of @toolgate/core)`;
  return new PolicyError(`cannot read toolgate policy ${path} here: pass the policy as an object or as text (parsePolicy / parsePolicyText)`, [issue]);
}

/** Edge build: there is no file system. Rejects with PolicyError (`POLICY_INVALID`). */
export async function loadPolicy(path: string): Promise<Policy> {
  throw noFiles(path);
}

/** Edge build: there is no file system. Throws PolicyError (`POLICY_INVALID`), e.g. for `policyReviewer('./policy.yaml')`. */
export function loadPolicySync(path: string): Policy {
  throw noFiles(path);
}
