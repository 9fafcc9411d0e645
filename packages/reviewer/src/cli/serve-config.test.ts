import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../testing/fixture';
import { ConfigError, resolveServeConfig } from './serve-config';
import { runCli } from './run-cli';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function project() {
  const dir = tempDir();
  cleanups.push(() => removeDir(dir));
  writeFileSync(join(dir, 'env-policy.yaml'), 'version: 1\ndefault: review\nrules: []\n');
  writeFileSync(join(dir, 'flag-policy.yaml'), 'version: 1\ndefault: review\nrules: []\n');
  return dir;
}

describe('toolgate serve settings: flags, then TOOLGATE_*, then defaults', () => {
  it('uses the defaults with neither', () => {
    const cwd = project();
    expect(resolveServeConfig({}, {}, cwd)).toEqual({ host: '127.0.0.1', port: 7070, policy: undefined, logLevel: 'info', dataDir: join(cwd, '.toolgate') });
  });

  it('reads every TOOLGATE_* variable, relative paths against the working directory', () => {
    const cwd = project();
    const env = { TOOLGATE_HOST: '0.0.0.0', TOOLGATE_PORT: '8080', TOOLGATE_POLICY: 'env-policy.yaml', TOOLGATE_LOG_LEVEL: 'DEBUG', TOOLGATE_DATA: 'state', TOOLGATE_DATABASE_URL: 'postgres://u:p@db:5432/tg' };
    expect(resolveServeConfig({}, env, cwd)).toEqual({ host: '0.0.0.0', port: 8080, policy: join(cwd, 'env-policy.yaml'), logLevel: 'debug', dataDir: join(cwd, 'state'), database: 'postgres://u:p@db:5432/tg' });
  });

  it('a flag wins over its variable; an empty variable counts as unset', () => {
    const cwd = project();
    const env = { TOOLGATE_HOST: '0.0.0.0', TOOLGATE_PORT: '8080', TOOLGATE_POLICY: 'env-policy.yaml', TOOLGATE_LOG_LEVEL: 'debug', TOOLGATE_DATA: 'state' };
    const flags = { host: '::1', port: '0', policy: 'flag-policy.yaml', 'log-level': 'warn', data: 'other', database: 'postgresql://u:p@flag/tg' };
    expect(resolveServeConfig(flags, { ...env, TOOLGATE_DATABASE_URL: 'postgres://u:p@env/tg' }, cwd)).toEqual({ host: '::1', port: 0, policy: join(cwd, 'flag-policy.yaml'), logLevel: 'warn', dataDir: join(cwd, 'other'), database: 'postgresql://u:p@flag/tg' });
    expect(resolveServeConfig({}, { TOOLGATE_PORT: '', TOOLGATE_DATA: ' ' }, cwd)).toMatchObject({ port: 7070, dataDir: join(cwd, '.toolgate') });
  });

  it('refuses bad values, naming the flag or variable they came from and what to pass instead', () => {
    const cwd = project();
    const err = (flags: Record<string, string>, env: Record<string, string>) => {
      try {
        resolveServeConfig(flags, env, cwd);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(err({}, { TOOLGATE_PORT: '70000' })).toBe('TOOLGATE_PORT "70000" is not a port: use a whole number from 0 to 65535 (0 picks a free port)');
    expect(err({ port: '80a' }, {})).toMatch(/^--port "80a" is not a port/);
    expect(err({}, { TOOLGATE_PORT: '-1' })).toMatch(/^TOOLGATE_PORT "-1" is not a port/);
    expect(err({}, { TOOLGATE_LOG_LEVEL: 'verbose' })).toBe('TOOLGATE_LOG_LEVEL "verbose" is not a log level: use one of fatal, error, warn, info, debug, trace, silent (default info)');
    expect(err({}, { TOOLGATE_POLICY: 'nope.yaml' })).toMatch(/^TOOLGATE_POLICY "nope.yaml": no policy file at .*nope\.yaml; pass the path of a YAML\/JSON policy \(`toolgate init` writes a starter one\)/);
    expect(err({}, { TOOLGATE_HOST: 'http://x' })).toMatch(/^TOOLGATE_HOST "http:\/\/x" is not an address to bind/);
    writeFileSync(join(cwd, 'a-file'), '');
    expect(err({ data: 'a-file' }, {})).toMatch(/^--data "a-file": .* is a file, not a directory/);
    mkdirSync(join(cwd, 'dir-policy'));
    expect(err({ policy: 'dir-policy' }, {})).toMatch(/no policy file at/);
    // A database URL that is not PostgreSQL is refused without echoing it (it carries a password).
    expect(err({}, { TOOLGATE_DATABASE_URL: 'mysql://root:s3cret@db/toolgate' })).toMatch(/^TOOLGATE_DATABASE_URL is not a PostgreSQL URL: use postgres:\/\//);
    expect(err({ database: 'sqlite:///x?password=s3cret' }, {})).toMatch(/^--database is not a PostgreSQL URL/);
    expect(err({}, { TOOLGATE_DATABASE_URL: 'mysql://root:s3cret@db/toolgate' })).not.toContain('s3cret');
    // The pool size: a whole number of connections, 1 to 1000, and only with the PostgreSQL store.
    const pgUrl = { TOOLGATE_DATABASE_URL: 'postgres://u:p@db/tg' };
    expect(err({ 'database-pool-size': '0' }, pgUrl)).toBe('--database-pool-size "0" is not a pool size: use a whole number of connections from 1 to 1000 (default 10)');
    expect(err({}, { ...pgUrl, TOOLGATE_DATABASE_POOL_SIZE: '2.5' })).toMatch(/^TOOLGATE_DATABASE_POOL_SIZE "2.5" is not a pool size/);
    expect(err({ 'database-pool-size': '1001' }, pgUrl)).toMatch(/is not a pool size/);
    expect(err({ 'database-pool-size': 'ten' }, pgUrl)).toMatch(/is not a pool size/);
    expect(err({ 'database-pool-size': '5' }, {})).toMatch(/^--database-pool-size sizes the PostgreSQL pool: pass --database postgres:\/\/… \(or TOOLGATE_DATABASE_URL\) with it/);
  });

  it('reads the PostgreSQL pool size from --database-pool-size, else TOOLGATE_DATABASE_POOL_SIZE', () => {
    const cwd = project();
    const env = { TOOLGATE_DATABASE_URL: 'postgres://u:p@db/tg', TOOLGATE_DATABASE_POOL_SIZE: ' 25 ' };
    expect(resolveServeConfig({}, env, cwd)).toMatchObject({ database: 'postgres://u:p@db/tg', databasePoolSize: 25 });
    expect(resolveServeConfig({ 'database-pool-size': '4' }, env, cwd).databasePoolSize).toBe(4);
    expect(resolveServeConfig({}, { ...env, TOOLGATE_DATABASE_POOL_SIZE: '' }, cwd)).not.toHaveProperty('databasePoolSize');
  });

  it('toolgate serve with a bad pool size: exit 2, one line on stderr, the database URL not echoed', async () => {
    const cwd = project();
    const out: string[] = [];
    const err: string[] = [];
    const env = { TOOLGATE_DATABASE_URL: 'postgres://tg:s3cr3t-pw@127.0.0.1:1/tg' };
    const code = await runCli(['serve', '--database-pool-size', '0'], { out: (t) => out.push(t), err: (t) => err.push(t), env, cwd });
    expect(code).toBe(2);
    expect(err.join('')).toBe('toolgate: --database-pool-size "0" is not a pool size: use a whole number of connections from 1 to 1000 (default 10)\n');
    expect(out).toEqual([]);
  });

  it('toolgate serve turns a bad setting into exit 2 and one line on stderr, before opening anything', async () => {
    const cwd = project();
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['serve', '--data', 'never-made'], { out: (t) => out.push(t), err: (t) => err.push(t), env: { TOOLGATE_PORT: 'http' }, cwd });
    expect(code).toBe(2);
    expect(err.join('')).toBe('toolgate: TOOLGATE_PORT "http" is not a port: use a whole number from 0 to 65535 (0 picks a free port)\n');
    expect(out).toEqual([]);
  });

  it('serve --help lists every variable', async () => {
    const out: string[] = [];
    expect(await runCli(['serve', '--help'], { out: (t) => out.push(t), err: () => {}, env: {} })).toBe(0);
    for (const name of ['TOOLGATE_HOST', 'TOOLGATE_PORT', 'TOOLGATE_POLICY', 'TOOLGATE_LOG_LEVEL', 'TOOLGATE_DATA', 'TOOLGATE_DATABASE_URL', 'TOOLGATE_DATABASE_POOL_SIZE', '--database-pool-size', '--env-file', '/readyz']) {
      expect(out.join('')).toContain(name);
    }
  });
});
