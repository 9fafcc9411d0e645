import type { z } from 'zod';
import { PolicyError } from '../errors';
import { loadYaml } from './load-yaml';
import { KEYS_BY_LEVEL, PolicySchema, type Policy } from './schema';

const DOCS_HINT = 'Fix the fields listed; the format is described in @toolgate/core docs/policy.md.';

/**
 * Validates a policy object (already parsed from JSON or YAML). Throws a `PolicyError` whose
 * `issues` name every problem with its path, e.g. `rules[2].when[0].op: expected one of eq, ne, …`.
 *
 * @example
 * const policy = parsePolicy({ version: 1, default: 'review', rules: [{ id: 'no-drop', tools: ['db.drop*'], verdict: 'deny' }] });
 */
export function parsePolicy(input: unknown, source?: string): Policy {
  const result = PolicySchema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map(formatIssue);
  throw new PolicyError(policyErrorMessage(issues, source), issues);
}

/**
 * Parses policy text (JSON or YAML) and validates it. Without `format`, text starting with `{`
 * is read as JSON, anything else as YAML.
 *
 * @example
 * const policy = parsePolicyText('version: 1\nrules:\n  - { id: no-shell, tools: [shell], verdict: deny }\n');
 */
export function parsePolicyText(text: string, format?: 'json' | 'yaml', source?: string): Policy {
  const kind = format ?? (/^\s*\{/.test(text) ? 'json' : 'yaml');
  let data: unknown;
  if (kind === 'json') {
    try {
      data = JSON.parse(text);
    } catch (error) {
      const issue = `(json): ${(error as Error).message}`;
      throw new PolicyError(policyErrorMessage([issue], source), [issue], { cause: error });
    }
  } else {
    const doc = loadYaml().parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      const issues = doc.errors.map((e) => {
        const at = e.linePos?.[0];
        const where = at ? `(yaml line ${at.line}, column ${at.col})` : '(yaml)';
        return `${where}: ${e.message.split('\n')[0] ?? e.message}`;
      });
      throw new PolicyError(policyErrorMessage(issues, source), issues);
    }
    data = doc.toJS({ maxAliasCount: 100 });
  }
  return parsePolicy(data, source);
}

function policyErrorMessage(issues: string[], source: string | undefined): string {
  const where = source ? ` in ${source}` : '';
  const n = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return `invalid toolgate policy${where}: ${n}\n${issues.map((i) => `  - ${i}`).join('\n')}\n${DOCS_HINT}`;
}

/** `['rules', 2, 'when', 0, 'op']` → `rules[2].when[0].op`. */
function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(policy)' : out;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const level = levelOf(issue.path);
      return issue.keys.map((key) => `${path}: unknown key "${key}"${keyHint(key, level)}`).join('; ');
    }
    case 'invalid_type': {
      if (/received undefined$/.test(issue.message)) return `${path}: required`;
      return `${path}: ${issue.message.replace(/^Invalid input: /, '')}`;
    }
    case 'invalid_value':
      if (issue.message.startsWith('Invalid')) return `${path}: expected one of ${issue.values.map(String).join(', ')}`;
      return `${path}: ${issue.message}`;
    default:
      return `${path}: ${issue.message}`;
  }
}

type Level = keyof typeof KEYS_BY_LEVEL;

/** Which part of the format an object at `path` is: `[]` the policy, `['rules', 2]` a rule, … */
function levelOf(path: ReadonlyArray<PropertyKey>): Level {
  const last = path[path.length - 1];
  if (path.length === 0) return 'policy';
  if (typeof last === 'number') return path[path.length - 2] === 'when' ? 'condition' : 'rule';
  if (last === 'schedule' || last === 'limit' || last === 'budget' || last === 'repeat') return last;
  return 'policy';
}

/** Words other policy engines use for a key this format spells differently. */
const ALIASES: Readonly<Partial<Record<Level, Readonly<Record<string, string>>>>> = {
  rule: { action: 'verdict', decision: 'verdict', effect: 'verdict', outcome: 'verdict', tool: 'tools', agent: 'agents', if: 'when', match: 'when', condition: 'when', message: 'reason' },
  condition: { path: 'field', key: 'field', operator: 'op', equals: 'value', pattern: 'value' },
  policy: { defaultVerdict: 'default', fallback: 'default', rule: 'rules' },
};

/** ` (did you mean "verdict"?)`, ` ("version" belongs at the policy level)`, or nothing. */
function keyHint(key: string, level: Level): string {
  const near = ALIASES[level]?.[key] ?? closest(key, KEYS_BY_LEVEL[level]);
  if (near !== undefined) return ` (did you mean "${near}"?)`;
  for (const [other, keys] of Object.entries(KEYS_BY_LEVEL)) {
    if (other !== level && keys.includes(key)) return ` ("${key}" belongs ${LEVEL_PLACE[other as Level]})`;
  }
  return '';
}

const LEVEL_PLACE: Readonly<Record<Level, string>> = {
  policy: 'at the policy level',
  rule: 'in a rule',
  condition: 'in a when condition',
  schedule: 'in a schedule',
  limit: 'in a limit',
  budget: 'in a budget',
  repeat: 'in a repeat',
};

/** The closest key of this level, never `key` itself (a key known here is not unknown). */
function closest(key: string, known: ReadonlyArray<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    if (k === key) continue;
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = k;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 99;
}
