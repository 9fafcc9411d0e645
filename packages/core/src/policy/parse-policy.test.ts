import { describe, expect, it } from 'vitest';
import { ErrorCodes, PolicyError } from '../errors';
import { parsePolicy, parsePolicyText } from './parse-policy';

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).code).toBe(ErrorCodes.POLICY_INVALID);
    return (error as PolicyError).issues;
  }
  throw new Error('expected a PolicyError');
}

const rule = (extra: Record<string, unknown>) => ({ id: 'r', verdict: 'deny', ...extra });

describe('parsePolicy', () => {
  it('accepts a full policy and returns it', () => {
    const input = {
      version: 1,
      default: 'review',
      rules: [
        {
          id: 'small',
          tools: ['transfer', 'db.*'],
          agents: ['bot-*'],
          when: [{ field: 'args.amount', op: 'lte', value: 1000 }],
          schedule: { days: ['mon'], hours: '09:00-17:00', tz: 'Europe/Berlin' },
          limit: { max: 5, windowMs: 60000, per: 'agent' },
          budget: { field: 'args.amount', max: 10000, windowMs: 86400000 },
          repeat: { max: 3, windowMs: 60000 },
          verdict: 'allow_with_conditions',
          conditions: ['notify #payments'],
        },
      ],
    };
    expect(parsePolicy(input)).toEqual(input);
  });

  it('names the path of a bad op and lists the valid ones', () => {
    const issues = issuesOf(() =>
      parsePolicy({
        version: 1,
        rules: [rule({ id: 'a' }), rule({ id: 'b' }), rule({ id: 'c', when: [{ field: 'args.x', op: 'greater', value: 1 }] })],
      }),
    );
    expect(issues).toEqual(['rules[2].when[0].op: expected one of eq, ne, lt, lte, gt, gte, in, nin, matches, contains, exists']);
  });

  it('reports every problem at once, each with its path', () => {
    const issues = issuesOf(() =>
      parsePolicy({
        version: 2,
        default: 'maybe',
        rules: [
          { verdict: 'deny' },
          rule({ id: 'x', when: [{ field: 'body.x', op: 'eq', value: 1 }] }),
          rule({ id: 'x', limit: { max: 1.5, windowMs: 0 } }),
        ],
      }),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^version: set version: 1 .*or leave it out/),
        'default: expected one of allow, allow_with_conditions, review, deny',
        'rules[0].id: required (give the rule an id, or a name)',
        expect.stringMatching(/^rules\[1\]\.when\[0\]\.field: expected a field path/),
        expect.stringMatching(/^rules\[2\]\.limit\.max: expected max as a whole number/),
        'rules[2].limit.windowMs: windowMs must be at least 1',
        'rules[2].id: duplicate rule id "x" (also rules[1]); ids must be unique',
      ]),
    );
  });

  it('refuses an invalid regex at parse time', () => {
    const issues = issuesOf(() => parsePolicy({ version: 1, rules: [rule({ when: [{ field: 'args.cmd', op: 'matches', value: 'rm (' }] })] }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^rules\[0\]\.when\[0\]\.value: rule "[^"]+": pattern "rm \(": invalid regular expression/);
  });

  it('checks each op has a value of the right type', () => {
    const issues = issuesOf(() =>
      parsePolicy({
        version: 1,
        rules: [
          rule({
            when: [
              { field: 'args.a', op: 'gt', value: '10' },
              { field: 'args.a', op: 'in', value: 'x' },
              { field: 'args.a', op: 'eq' },
              { field: 'args.a', op: 'exists', value: 'yes' },
              { field: 'args.a', op: 'eq', value: 1, flags: 'i' },
            ],
          }),
        ],
      }),
    );
    expect(issues).toEqual([
      'rules[0].when[0].value: op gt needs a number value',
      'rules[0].when[1].value: op in needs a list value, e.g. [full, partial]',
      'rules[0].when[2].value: op eq needs a value',
      'rules[0].when[3].value: op exists takes true or false (default true)',
      'rules[0].when[4].flags: flags only apply to op matches',
    ]);
  });

  it('rejects unknown keys and suggests the intended one', () => {
    const issues = issuesOf(() => parsePolicy({ version: 1, rules: [{ id: 'r', verdit: 'deny' }] }));
    expect(issues).toContain('rules[0]: unknown key "verdit" (did you mean "verdict"?)');
    expect(issues).toContain('rules[0].verdict: required');
  });

  it('checks schedules: time zone, hours format, empty window', () => {
    const issues = issuesOf(() =>
      parsePolicy({
        version: 1,
        rules: [
          rule({ id: 'a', schedule: { hours: '9-17' } }),
          rule({ id: 'b', schedule: { hours: '10:00-10:00' } }),
          rule({ id: 'c', schedule: { days: ['monday'], tz: 'Mars/Olympus' } }),
          rule({ id: 'd', schedule: {} }),
        ],
      }),
    );
    expect(issues).toEqual([
      expect.stringMatching(/^rules\[0\]\.schedule\.hours: expected hours as "HH:MM-HH:MM"/),
      expect.stringMatching(/^rules\[1\]\.schedule\.hours: start and end are equal/),
      'rules[2].schedule.days[0]: expected one of mon, tue, wed, thu, fri, sat, sun',
      expect.stringMatching(/^rules\[2\]\.schedule\.tz: unknown time zone "Mars\/Olympus"/),
      'rules[3].schedule: a schedule needs days, hours, or both',
    ]);
  });

  it('ties conditions to allow_with_conditions', () => {
    const issues = issuesOf(() =>
      parsePolicy({
        version: 1,
        default: 'allow_with_conditions',
        rules: [rule({ id: 'a', verdict: 'allow_with_conditions' }), rule({ id: 'b', conditions: ['x'] }), rule({ id: 'c', tools: [] })],
      }),
    );
    expect(issues).toEqual([
      'rules[0].conditions: allow_with_conditions needs conditions: ["..."]',
      expect.stringMatching(/^rules\[1\]\.conditions: conditions only apply to verdict allow_with_conditions/),
      'rules[2].tools: empty list matches nothing; omit the key to match every tool',
      'defaultConditions: default allow_with_conditions needs defaultConditions: ["..."]',
    ]);
  });

  it('says what is wrong with a non-object and how to fix it', () => {
    try {
      parsePolicy('nope', 'inline.yaml');
      expect.unreachable();
    } catch (error) {
      expect((error as PolicyError).issues).toEqual(['(policy): expected object, received string']);
      expect((error as Error).message).toMatch(/^invalid toolgate policy in inline\.yaml: 1 problem\n {2}- \(policy\)/);
      expect((error as Error).message).toMatch(/docs\/policy\.md/);
    }
  });
});

describe('parsePolicyText', () => {
  it('reads YAML and JSON (sniffed or told)', () => {
    const yaml = 'version: 1\ndefault: deny\nrules:\n  - { id: ok, tools: [search], verdict: allow }\n';
    const json = '{"version":1,"default":"deny","rules":[{"id":"ok","tools":["search"],"verdict":"allow"}]}';
    const expected = { version: 1, default: 'deny', rules: [{ id: 'ok', tools: ['search'], verdict: 'allow' }] };
    expect(parsePolicyText(yaml)).toEqual(expected);
    expect(parsePolicyText(json)).toEqual(expected);
    expect(parsePolicyText(json, 'yaml')).toEqual(expected);
    expect(parsePolicyText(`  ${json}`, 'json')).toEqual(expected);
  });

  it('keeps unquoted YAML hours as text', () => {
    const p = parsePolicyText('version: 1\nrules:\n  - id: a\n    schedule: { hours: 09:00-17:00 }\n    verdict: deny\n');
    expect(p.rules[0]?.schedule?.hours).toBe('09:00-17:00');
  });

  it('reports syntax errors with a line, and duplicate keys', () => {
    const bad = issuesOfText('version: 1\nrules:\n  - id: a\n    verdict: [deny\n');
    expect(bad[0]).toMatch(/^\(yaml line \d+, column \d+\): /);
    const dup = issuesOfText('version: 1\nversion: 1\nrules: []\n');
    expect(dup[0]).toMatch(/^\(yaml line 2, column 1\): .*unique/i);
    const json = issuesOfText('{"version": 1,', 'json');
    expect(json[0]).toMatch(/^\(json\): /);
  });
});

function issuesOfText(text: string, format?: 'json' | 'yaml'): string[] {
  return issuesOf(() => parsePolicyText(text, format, 'test'));
}
