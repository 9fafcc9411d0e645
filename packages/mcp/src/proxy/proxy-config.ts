import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { McpGovernanceOptionsError } from '../errors';
import type { PrefixedUpstream } from './upstream-router';

/** The command-line options, as parseArgs gives them. */
export interface FlagValues {
  policy?: string;
  'high-stakes'?: string[];
  'reviewer-url'?: string;
  'api-key'?: string;
  'fail-mode'?: string;
  'on-review'?: string;
  audit?: string;
  'high-stakes-annotations'?: string;
  'timeout-ms'?: string;
  'review-timeout-ms'?: string;
  'upstream-url'?: string;
  listen?: string;
  config?: string;
}

/** File key → flag. Every option of the command line, in camelCase. */
const KEYS: Record<string, keyof FlagValues> = {
  policy: 'policy',
  highStakes: 'high-stakes',
  reviewerUrl: 'reviewer-url',
  apiKey: 'api-key',
  failMode: 'fail-mode',
  onReview: 'on-review',
  audit: 'audit',
  highStakesAnnotations: 'high-stakes-annotations',
  timeoutMs: 'timeout-ms',
  reviewTimeoutMs: 'review-timeout-ms',
  listen: 'listen',
};
const SERVER_KEYS = new Set(['prefix', 'command', 'args', 'env', 'cwd', 'url', 'headers']);

/**
 * Reads `toolgate.mcp.yaml` (or JSON): the command line's options in camelCase, and `servers`,
 * each `{ prefix, command, args?, env?, cwd? }` or `{ prefix, url, headers? }`. Relative paths
 * (policy, audit, cwd) are relative to the file. Unknown keys are errors: a typo in a gate's
 * configuration must not pass silently.
 *
 * @example
 * policy: ./policy.yaml
 * highStakes: [github_delete_*, github_merge_*, files_write_*]
 * audit: ./audit.jsonl
 * servers:
 *   - { prefix: github_, command: npx, args: [-y, '@modelcontextprotocol/server-github'] }
 *   - { prefix: files_, url: 'http://127.0.0.1:9000/mcp' }
 */
export function loadProxyConfig(path: string): { values: FlagValues; upstreams: PrefixedUpstream[] } {
  const bad = (message: string) => new McpGovernanceOptionsError(`toolgate-mcp: ${path}: ${message}`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new McpGovernanceOptionsError(`toolgate-mcp: cannot read the configuration ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('expected a mapping of options with a servers list');
  const base = dirname(resolve(path));
  const values: FlagValues = {};
  let servers: unknown;
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'servers') {
      servers = value;
      continue;
    }
    const flag = KEYS[key];
    if (!flag) throw bad(`unknown option "${key}" (known: ${[...Object.keys(KEYS), 'servers'].join(', ')})`);
    if (flag === 'high-stakes') {
      const list = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) throw bad('highStakes must be a list of tool names and globs');
      values[flag] = list;
    } else if (typeof value === 'string' || typeof value === 'number') {
      values[flag] = flag === 'policy' || flag === 'audit' ? resolve(base, String(value)) : String(value);
    } else {
      throw bad(`${key} must be a string or a number`);
    }
  }
  if (!Array.isArray(servers) || servers.length === 0) throw bad('servers must list at least one upstream server ({ prefix, command, args } or { prefix, url })');
  const upstreams = servers.map((s, i): PrefixedUpstream => {
    const at = `servers[${i}]`;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw bad(`${at} must be a mapping`);
    const o = s as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!SERVER_KEYS.has(k)) throw bad(`${at}: unknown key "${k}"`);
    const prefix = o.prefix ?? '';
    if (typeof prefix !== 'string') throw bad(`${at}.prefix must be a string`);
    const strings = (v: unknown, what: string) => {
      if (v === undefined) return undefined;
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(`${at}.${what} must be a list of strings`);
      return v as string[];
    };
    const record = (v: unknown, what: string) => {
      if (v === undefined) return undefined;
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) throw bad(`${at}.${what} must map names to strings`);
      return v as Record<string, string>;
    };
    if (typeof o.url === 'string') {
      if (o.command !== undefined) throw bad(`${at}: give command or url, not both`);
      if (!/^https?:\/\//.test(o.url)) throw bad(`${at}.url must be an http(s) URL`);
      const headers = record(o.headers, 'headers');
      return { prefix, url: o.url, ...(headers ? { headers } : {}) };
    }
    if (typeof o.command !== 'string' || o.command === '') throw bad(`${at} needs a command (with args) or a url`);
    const args = strings(o.args, 'args');
    const env = record(o.env, 'env');
    if (o.cwd !== undefined && typeof o.cwd !== 'string') throw bad(`${at}.cwd must be a string`);
    return {
      prefix,
      command: o.command,
      ...(args ? { args } : {}),
      // The server's own variables on top of the proxy's environment (without TOOLGATE_*).
      ...(env ? { env: { ...proxyEnv(), ...env } } : {}),
      ...(typeof o.cwd === 'string' ? { cwd: resolve(base, o.cwd) } : {}),
    };
  });
  return { values, upstreams };
}

function proxyEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TOOLGATE_')) env[k] = v;
  return env;
}
