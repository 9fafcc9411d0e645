import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { PolicyError } from '../errors';
import { parsePolicyText } from './parse-policy';
import type { Policy } from './schema';

/**
 * Reads and validates a policy file. `.json` is read as JSON, `.yaml`/`.yml` as YAML; any other
 * extension is sniffed (text starting with `{` is JSON). Throws `PolicyError` when the file cannot
 * be read or is invalid.
 *
 * @example
 * const policy = await loadPolicy('./policy.yaml');
 * const reviewer = policyReviewer(policy);
 */
export async function loadPolicy(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw unreadable(path, error);
  }
  return parsePolicyText(text, formatOf(path), path);
}

/** Synchronous `loadPolicy`, for construction-time setup (e.g. `policyReviewer('./policy.yaml')`). */
export function loadPolicySync(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw unreadable(path, error);
  }
  return parsePolicyText(text, formatOf(path), path);
}

function formatOf(path: string): 'json' | 'yaml' | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return undefined;
}

function unreadable(path: string, error: unknown): PolicyError {
  const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
  const issue = `(file): cannot read ${path}: ${why}`;
  return new PolicyError(`cannot read toolgate policy ${path}: ${why}. Check the path (relative paths resolve from ${process.cwd()}).`, [issue], {
    cause: error,
  });
}
