import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createApiKey } from '../auth/api-keys';
import { openAuditTrail } from '../store/audit-trail';
import { openStore } from '../store/open-store';
import { SERVE_DEFAULTS } from './serve-config';
import { STARTER_POLICY } from './starter-policy';

/** `toolgate init` found a file it would have to overwrite. */
export class InitConflictError extends Error {
  readonly code = 'INIT_EXISTS';
  constructor(readonly path: string) {
    super(`${path} already exists; toolgate init never overwrites anything. Remove it, or run \`toolgate init <another dir>\``);
  }
}

export interface InitResult {
  dir: string;
  policyFile: string;
  envFile: string;
  dataDir: string;
  evalKeyId: string;
  approveKeyId: string;
}

export const INIT_FILES = { policy: 'policy.yaml', env: '.env', data: SERVE_DEFAULTS.data } as const;

/**
 * Writes a starter `policy.yaml`, a data dir holding a fresh eval key (for the gate) and approve
 * key (for a human), and a `.env` (mode 0600) with both keys and the server settings. Refuses,
 * before writing anything, when any of the three exists.
 */
export async function initProject(dirArg: string, cwd: string): Promise<InitResult> {
  const dir = resolve(cwd, dirArg);
  const policyFile = join(dir, INIT_FILES.policy);
  const envFile = join(dir, INIT_FILES.env);
  const dataDir = join(dir, INIT_FILES.data);
  for (const path of [policyFile, envFile, dataDir]) if (existsSync(path)) throw new InitConflictError(path);

  mkdirSync(dir, { recursive: true });
  // Not recursive: a data dir made in the meantime is a conflict, not something to reuse.
  try {
    mkdirSync(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new InitConflictError(dataDir);
    throw error;
  }
  const store = openStore(dataDir);
  const trail = openAuditTrail(store);
  let evalKey;
  let approveKey;
  try {
    evalKey = createApiKey(store, trail, { scope: 'eval', name: 'agent', by: 'cli:init' });
    approveKey = createApiKey(store, trail, { scope: 'approve', name: 'approver', by: 'cli:init' });
    await trail.flush();
  } finally {
    await trail.close();
    store.close();
  }

  const url = `http://${SERVE_DEFAULTS.host}:${SERVE_DEFAULTS.port}`;
  // 'wx': fail rather than overwrite a file that appeared since the check.
  writeFileSync(policyFile, STARTER_POLICY, { flag: 'wx' });
  writeFileSync(
    envFile,
    [
      '# toolgate settings, written by `toolgate init`. Read with `toolgate serve --env-file .env`',
      '# (or `node --env-file=.env` for your agent). Holds two API keys: keep it out of version control.',
      '# Variables already set in the environment win over this file; flags win over both.',
      `TOOLGATE_HOST=${SERVE_DEFAULTS.host}`,
      `TOOLGATE_PORT=${SERVE_DEFAULTS.port}`,
      `TOOLGATE_DATA=${INIT_FILES.data}`,
      `TOOLGATE_POLICY=${INIT_FILES.policy}`,
      `TOOLGATE_LOG_LEVEL=${SERVE_DEFAULTS.logLevel}`,
      '',
      '# The server, for `toolgate reviews ...` and your agent.',
      `TOOLGATE_URL=${url}`,
      '# approve scope, for a human: the dashboard sign-in and `toolgate reviews approve|deny`.',
      `TOOLGATE_KEY=${approveKey.key}`,
      '# eval scope, for your agent\'s gate: httpReviewer({ url: process.env.TOOLGATE_URL, apiKey: process.env.TOOLGATE_EVAL_KEY }).',
      `TOOLGATE_EVAL_KEY=${evalKey.key}`,
      '',
    ].join('\n'),
    { flag: 'wx', mode: 0o600 },
  );
  return { dir, policyFile, envFile, dataDir, evalKeyId: evalKey.id, approveKeyId: approveKey.id };
}

/** What `toolgate init` prints: what it wrote and the next three commands. */
export function initSummary(r: InitResult, cwd: string): string {
  const rel = relative(cwd, r.dir);
  const cd = rel === '' ? '' : `cd ${/\s/.test(rel) ? JSON.stringify(rel) : rel} && `;
  const url = `http://${SERVE_DEFAULTS.host}:${SERVE_DEFAULTS.port}`;
  return [
    `wrote ${r.policyFile}  (starter policy: edit it for your tools)`,
    `wrote ${r.envFile}  (an eval key ${r.evalKeyId} and an approve key ${r.approveKeyId}; keep it out of git)`,
    `made  ${r.dataDir}  (SQLite store with those keys; the signing key is made on first serve)`,
    '',
    'Next:',
    `  1. ${cd}toolgate serve --env-file .env`,
    `  2. open ${url}/ and sign in with TOOLGATE_KEY from .env (the approver key)`,
    `  3. point a gate at it: ${cd}node --env-file=.env your-agent.js, where the agent's gate uses`,
    `     httpReviewer({ url: process.env.TOOLGATE_URL, apiKey: process.env.TOOLGATE_EVAL_KEY }) and jwksUrl: '${url}/.well-known/jwks.json'`,
    '',
  ].join('\n');
}
