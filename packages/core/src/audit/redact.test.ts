import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../types';
import { isSecretField, redact, redactText, redactValue } from './redact';
import { redactEntry } from './redact-entry';

describe('redact', () => {
  it('redacts the default secret keys, case-insensitively and ignoring _ and -', () => {
    const input = {
      user: 'ann',
      password: 'p1',
      PASSWD: 'p2',
      Secret: 's',
      token: 't',
      api_key: 'k',
      'x-api-key': 'k2',
      Authorization: 'anything',
      cookie: 'c',
      private_key: 'pk',
      accessToken: 'a',
      refresh_token: 'r',
      client_secret: 'cs',
      credentials: { user: 'u', pass: 'p' },
      ssn: '123-45-6789',
      githubToken: 'ghp_x',
      db_password: 'dbp',
      maxTokens: 1000,
      tokenizer: 'bpe',
    };
    expect(redact(input)).toEqual({
      user: 'ann',
      password: '[REDACTED]',
      PASSWD: '[REDACTED]',
      Secret: '[REDACTED]',
      token: '[REDACTED]',
      api_key: '[REDACTED]',
      'x-api-key': '[REDACTED]',
      Authorization: '[REDACTED]',
      cookie: '[REDACTED]',
      private_key: '[REDACTED]',
      accessToken: '[REDACTED]',
      refresh_token: '[REDACTED]',
      client_secret: '[REDACTED]',
      credentials: '[REDACTED]',
      ssn: '[REDACTED]',
      githubToken: '[REDACTED]',
      db_password: '[REDACTED]',
      maxTokens: 1000,
      tokenizer: 'bpe',
    });
  });

  it('never mutates its input', () => {
    const input = { nested: { password: 'p', list: [{ token: 't' }] } };
    const before = structuredClone(input);
    const out = redact(input) as typeof input;
    expect(input).toEqual(before);
    expect(out.nested).not.toBe(input.nested);
    expect(out.nested.list[0]).toEqual({ token: '[REDACTED]' });
  });

  it('redacts nested keys inside arrays and keeps null secrets null', () => {
    expect(redact({ users: [{ name: 'a', password: 'x' }, { name: 'b', password: null }] })).toEqual({
      users: [{ name: 'a', password: '[REDACTED]' }, { name: 'b', password: null }],
    });
  });

  it('applies extra keys (strings and RegExps) and dotted paths with * wildcards', () => {
    const args = {
      card: { number: '4111111111111111', holder: 'Ann' },
      items: [{ iban: 'DE1', amount: 5 }, { iban: 'DE2', amount: 6 }],
      pin: '1234',
      otpCode: '999',
    };
    const out = redact(args, { keys: ['PIN', /^otp/], paths: ['args.card.number', 'args.items.*.iban'] }, 'args');
    expect(out).toEqual({
      card: { number: '[REDACTED]', holder: 'Ann' },
      items: [{ iban: '[REDACTED]', amount: 5 }, { iban: '[REDACTED]', amount: 6 }],
      pin: '[REDACTED]',
      otpCode: '[REDACTED]',
    });
    // Paths are rooted at `at`: without it, `args.card.number` names nothing in the bare args.
    expect((redact(args, { paths: ['args.card.number'] }) as typeof args).card.number).toBe('4111111111111111');
    expect((redact({ args }, { paths: ['args.card'] }) as { args: typeof args }).args.card).toBe('[REDACTED]');
  });

  it('redacts Bearer/Basic credential strings wherever they are', () => {
    expect(redact({ header: 'Bearer abc.def', note: 'basic  dXNlcjpw', plain: 'Bearer' })).toEqual({
      header: '[REDACTED]',
      note: '[REDACTED]',
      plain: 'Bearer',
    });
    expect(redact('Bearer xyz')).toBe('[REDACTED]');
    expect(redactText('401 from upstream with Authorization: Bearer eyJhbGciOi.x.y, retry')).toBe(
      '401 from upstream with Authorization: [REDACTED], retry',
    );
  });

  it('is safe with cycles and deep values', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    a.list = [a];
    expect(redact(a)).toEqual({ name: 'a', self: '[Circular]', list: ['[Circular]'] });
    // A shared (non-cyclic) reference is copied, not flagged.
    const shared = { v: 1 };
    expect(redact({ x: shared, y: shared })).toEqual({ x: { v: 1 }, y: { v: 1 } });

    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 100; i++) deep = { d: deep };
    let out = redact(deep, { maxDepth: 5 }) as Record<string, unknown>;
    for (let i = 0; i < 5; i++) out = out.d as Record<string, unknown>;
    expect(out).toBe('[MaxDepth]');
  });

  it('copies __proto__ keys as own data without polluting any prototype', () => {
    const input = JSON.parse('{"__proto__": {"polluted": "yes", "token": "t"}, "a": 1}') as Record<string, unknown>;
    const out = redact(input) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ polluted: 'yes', token: '[REDACTED]' });
    expect((out as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(out))).toEqual(JSON.parse('{"__proto__": {"polluted": "yes", "token": "[REDACTED]"}, "a": 1}'));
  });

  it('returns JSON-safe copies', () => {
    const when = new Date('2024-01-02T03:04:05.000Z');
    expect(redact({ when, big: 10n, fn: () => 1, u: undefined, n: Number.NaN, arr: [undefined, 1] })).toEqual({
      when: '2024-01-02T03:04:05.000Z',
      big: '10',
      n: null,
      arr: [null, 1],
    });
  });
});

describe('redact: the names and inline forms attackers and users actually use', () => {
  it('redacts the commonly missed secret names, whatever their case and separators', () => {
    const names = [
      'secret_key',
      'secretKey',
      'secret-key',
      'SECRET_KEY',
      'AWS_SECRET_ACCESS_KEY',
      'aws.secretAccessKey',
      'private_key_pem',
      'privateKeyPem',
      'passphrase',
      'ssh_passphrase',
      'pwd',
      'PWD',
      'signing_key',
      'jwtSigningKey',
      'session_id',
      'sessionId',
      'SESSION-ID',
      'mnemonic',
      'wallet_mnemonic',
      'seed phrase',
      'password_hash',
      'otp',
      'cvv',
    ];
    const input = Object.fromEntries(names.map((n) => [n, 'the-secret-value']));
    const out = redact(input) as Record<string, unknown>;
    for (const n of names) expect(out[n], n).toBe('[REDACTED]');
  });

  it('keeps ordinary names that only look similar', () => {
    const input = { maxTokens: 1000, tokenizer: 'bpe', session: 'web', keyboard: 'us', monkey: 'yes', passenger: 'ann', sku: 'k-1' };
    expect(redact(input)).toEqual(input);
  });

  it('catches Bearer and other credentials inside longer strings, keeping the text around them', () => {
    expect(redact({ cmd: 'curl -H "Authorization: Bearer abc123" https://api.example.com' })).toEqual({
      cmd: 'curl -H "Authorization: [REDACTED]" https://api.example.com',
    });
    expect(redactText('the upstream rejected Bearer eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl today')).toBe('the upstream rejected [REDACTED] today');
    expect(redactText('token sk-proj-abcdefghijklmnopqrstuvwxyz0123 leaked')).toBe('token [REDACTED] leaked');
    expect(redactText('use ghp_abcdefghijklmnopqrstuvwxyz0123456789 here')).toBe('use [REDACTED] here');
    expect(redactText('stripe sk_live_abcdefghijklmnop1234')).toBe('stripe [REDACTED]');
    expect(redactText('connect postgres://app:hunter2@db.internal:5432/prod')).toBe('connect postgres://app:[REDACTED]@db.internal:5432/prod');
    expect(redactText('GET /v1/x?user=ann&api_key=k123&page=2')).toBe('GET /v1/x?user=ann&api_key=[REDACTED]&page=2');
    expect(redactText('env: AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI PWD=/home/ann')).toBe('env: AWS_SECRET_ACCESS_KEY=[REDACTED] PWD=[REDACTED]');
    expect(redactText('body {"user":"ann","password":"p\\"w"}')).toBe('body {"user":"ann","password":"[REDACTED]"}');
    expect(redactText('key -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- end')).toBe('key [REDACTED] end');
    expect(redactText('Cookie: sid=abc; theme=dark')).toBe('Cookie: [REDACTED]');
  });

  it('leaves prose alone: no false positives on ordinary words', () => {
    const prose = 'The basic plan covers bearer bonds; see https://example.com/docs?page=2 and {"user":"ann"}';
    expect(redactText(prose)).toBe(prose);
  });

  it('stays linear on adversarial text', () => {
    // Each of these would be quadratic (or worse) with a careless pattern; they must finish.
    const inputs = [
      'Bearer '.repeat(20_000),
      `${'a'.repeat(60)}`.repeat(2_000),
      '"a":"'.repeat(20_000),
      '-----BEGIN PRIVATE KEY-----'.repeat(5_000),
      'x://u:'.repeat(20_000),
    ];
    for (const text of inputs) expect(typeof redactText(text)).toBe('string');
  });

  it('redactValue is the one helper for agent objects and messages', () => {
    expect(redactValue({ id: 'bot', labels: { session_id: 's1', team: 'ops' } }, undefined, 'agent')).toEqual({
      id: 'bot',
      labels: { session_id: '[REDACTED]', team: 'ops' },
    });
    expect(redactValue('upstream said: Authorization: Bearer abc123')).toBe('upstream said: Authorization: [REDACTED]');
    expect(redactValue({ card: { number: '4111' } }, { paths: ['agent.card.number'] }, 'agent')).toEqual({ card: { number: '[REDACTED]' } });
  });
});

describe('redactEntry', () => {
  const entry: AuditEntry = {
    id: 'a1',
    ts: '2024-01-01T00:00:00.000Z',
    kind: 'review',
    call: { tool: 'deploy', digest: 'sha256:x', args: { env: 'prod', apiKey: 'k', card: { number: '4111' } } },
    decision: {
      verdict: 'deny',
      reason: 'upstream said 401 for Bearer abc123',
      conditions: [],
      evaluated: [
        { rule: 'r1', field: 'args.apiKey', op: 'eq', expected: 'k', actual: 'k', passed: true },
        { rule: 'r2', field: 'args.card.number', op: 'exists', expected: true, actual: '4111', passed: true },
        { rule: 'r3', field: 'args.env', op: 'eq', expected: 'prod', actual: 'prod', passed: true },
        { rule: 'r4', field: 'args', op: 'exists', expected: true, actual: { env: 'prod', db_password: 'x' }, passed: true },
      ],
      source: 'policy',
      tool: 'deploy',
      digest: 'sha256:x',
      latencyMs: 1,
      error: { code: 'X', message: 'Authorization: Basic dXNlcjpwYXNz failed' },
    },
    outcome: { status: 'error', message: 'curl -H "Authorization: Bearer tok123" failed' },
    meta: { approver: 'bob', session_token: 's' },
  };

  it('redacts args, secret evaluated fields, messages and meta, without mutating the entry', () => {
    const before = structuredClone(entry);
    const out = redactEntry(entry, { paths: ['args.card.number'] });
    expect(entry).toEqual(before);
    expect(out.call.args).toEqual({ env: 'prod', apiKey: '[REDACTED]', card: { number: '[REDACTED]' } });
    const ev = out.decision!.evaluated;
    expect(ev[0]).toMatchObject({ actual: '[REDACTED]', expected: '[REDACTED]' });
    expect(ev[1]).toMatchObject({ actual: '[REDACTED]', expected: true });
    expect(ev[2]).toMatchObject({ actual: 'prod', expected: 'prod' });
    expect(ev[3]!.actual).toEqual({ env: 'prod', db_password: '[REDACTED]' });
    expect(out.decision!.reason).toBe('upstream said 401 for [REDACTED]');
    expect(out.decision!.error!.message).toBe('Authorization: [REDACTED] failed');
    expect(out.outcome!.message).toBe('curl -H "Authorization: [REDACTED]" failed');
    expect(out.meta).toEqual({ approver: 'bob', session_token: '[REDACTED]' });
  });

  it('redacts credentials in conditions a reviewer wrote', () => {
    const out = redactEntry({ ...entry, decision: { ...entry.decision!, conditions: ['rotate token sk-abcdefghijklmnopqrstuvwx01 after use', 'notify ops'] } });
    expect(out.decision!.conditions).toEqual(['rotate token [REDACTED] after use', 'notify ops']);
  });

  it('leaves the card number alone without the configured path', () => {
    const out = redactEntry(entry);
    expect((out.call.args as { card: { number: string } }).card.number).toBe('4111');
    expect(out.decision!.evaluated[1]!.actual).toBe('4111');
  });
});

describe('redaction fast paths (short text, memoised fields, no paths)', () => {
  it('the shortest credentials are still found: otp=1, "Basic x", pwd=x', () => {
    expect(redactText('otp=1')).toBe('otp=[REDACTED]');
    expect(redactText('pwd=x')).toBe('pwd=[REDACTED]');
    expect(redact({ h: 'Basic x' })).toEqual({ h: '[REDACTED]' });
    expect(redactText('a=b')).toBe('a=b');
  });

  it('a field is secret or not per options, asked twice (memoised) with the same answer', () => {
    const opts = { paths: ['args.card.number'] };
    for (let i = 0; i < 2; i++) {
      expect(isSecretField('args.card.number', opts)).toBe(true);
      expect(isSecretField('args.card.number')).toBe(false);
      expect(isSecretField('args.db_password')).toBe(true);
      expect(isSecretField('args.amount', opts)).toBe(false);
    }
  });

  it('the same object twice is copied twice; a cycle is still [Circular]', () => {
    const shared = { a: 1 };
    const cyclic: Record<string, unknown> = { shared, list: [shared] };
    cyclic.self = cyclic;
    expect(redact(cyclic)).toEqual({ shared: { a: 1 }, list: [{ a: 1 }], self: '[Circular]' });
  });
});
