import { describe, expect, it } from 'vitest';
import { compilePolicy } from './compile-policy';
import { evaluatePolicy } from './evaluate-policy';
import { parsePolicy } from './parse-policy';
import { formatMinuteOfWeek, localMinuteOfWeek } from './schedule';

const utc = (iso: string) => Date.parse(`${iso}Z`);
const local = (tz: string, iso: string) => formatMinuteOfWeek(localMinuteOfWeek(tz, utc(iso)));

describe('localMinuteOfWeek', () => {
  it('gives local weekday and time in a zone, across DST', () => {
    expect(local('Europe/Berlin', '2025-01-06T08:30:00')).toBe('Mon 09:30'); // CET, UTC+1
    expect(local('Europe/Berlin', '2025-07-07T08:30:00')).toBe('Mon 10:30'); // CEST, UTC+2
    expect(local('Europe/Berlin', '2025-03-30T00:59:00')).toBe('Sun 01:59'); // just before the switch
    expect(local('Europe/Berlin', '2025-03-30T01:00:00')).toBe('Sun 03:00'); // just after
    expect(local('America/New_York', '2025-01-06T03:00:00')).toBe('Sun 22:00');
    expect(local('Asia/Kathmandu', '2025-01-05T23:59:00')).toBe('Mon 05:44'); // UTC+05:45
    expect(local('UTC', '2025-01-12T23:59:59')).toBe('Sun 23:59');
  });
});

describe('schedule rules', () => {
  const compiled = compilePolicy(
    parsePolicy({
      version: 1,
      default: 'deny',
      rules: [
        {
          id: 'office',
          tools: ['deploy'],
          schedule: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '09:00-17:00', tz: 'Europe/Berlin' },
          verdict: 'allow_with_conditions',
          conditions: ['announce in #deploys'],
        },
        {
          id: 'after-hours',
          tools: ['deploy'],
          schedule: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '09:00-17:00', tz: 'Europe/Berlin', outside: true },
          verdict: 'review',
        },
        { id: 'night', tools: ['backup'], schedule: { hours: '22:00-06:00' }, verdict: 'allow' },
      ],
    }),
  );
  const at = (tool: string, iso: string) => evaluatePolicy(compiled, { tool, args: {}, digest: 'sha256:x' }, { now: utc(iso) });

  it('matches inside the window in the rule time zone', () => {
    const r = at('deploy', '2025-01-06T08:30:00'); // Mon 09:30 Berlin
    expect(r).toMatchObject({ verdict: 'allow_with_conditions', matchedRules: ['office'], conditions: ['announce in #deploys'] });
    expect(r.evaluated).toContainEqual({
      rule: 'office',
      field: 'schedule',
      op: 'within',
      expected: 'mon,tue,wed,thu,fri 09:00-17:00 Europe/Berlin',
      actual: 'Mon 09:30',
      passed: true,
    });
    expect(at('deploy', '2025-01-06T15:59:00').verdict).toBe('allow_with_conditions'); // 16:59 Berlin
  });

  it('outside: true matches outside the window (hours and days)', () => {
    expect(at('deploy', '2025-01-06T07:30:00')).toMatchObject({ verdict: 'review', matchedRules: ['after-hours'] }); // 08:30 Berlin
    expect(at('deploy', '2025-01-06T16:00:00').verdict).toBe('review'); // 17:00 Berlin: end is exclusive
    expect(at('deploy', '2025-01-11T10:00:00').verdict).toBe('review'); // Saturday
    expect(at('deploy', '2025-07-07T15:30:00').verdict).toBe('review'); // 17:30 CEST
  });

  it('handles windows that wrap midnight, in UTC by default', () => {
    expect(at('backup', '2025-01-06T23:00:00').verdict).toBe('allow');
    expect(at('backup', '2025-01-07T05:59:00').verdict).toBe('allow');
    expect(at('backup', '2025-01-07T06:00:00').verdict).toBe('deny');
    expect(at('backup', '2025-01-07T12:00:00').verdict).toBe('deny');
  });
});
