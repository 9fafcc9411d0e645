import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

/** A setting from a flag or the environment that cannot be used. The message says what to do instead. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The environment variables `toolgate serve` reads; a flag of the same name wins over each. */
export const SERVE_ENV = {
  host: 'TOOLGATE_HOST',
  port: 'TOOLGATE_PORT',
  policy: 'TOOLGATE_POLICY',
  logLevel: 'TOOLGATE_LOG_LEVEL',
  data: 'TOOLGATE_DATA',
  /** `postgres://…`: the PostgreSQL store instead of the data dir's SQLite file (several servers on one database are one service). */
  databaseUrl: 'TOOLGATE_DATABASE_URL',
  /** Connections in each server's PostgreSQL pool (default 10); only with the PostgreSQL store. */
  databasePoolSize: 'TOOLGATE_DATABASE_POOL_SIZE',
} as const;

export const SERVE_DEFAULTS = { host: '127.0.0.1', port: 7070, data: '.toolgate', logLevel: 'info' as LogLevel };

export interface ServeFlags {
  host?: string | undefined;
  port?: string | undefined;
  policy?: string | undefined;
  'log-level'?: string | undefined;
  data?: string | undefined;
  database?: string | undefined;
  'database-pool-size'?: string | undefined;
}

export interface ServeConfig {
  host: string;
  port: number;
  /** Absolute path of the policy file, if any. */
  policy: string | undefined;
  logLevel: LogLevel;
  /** Absolute path of the data dir. */
  dataDir: string;
  /** The PostgreSQL URL (`--database` / TOOLGATE_DATABASE_URL), if any. Never log it: it may hold a password. */
  database?: string;
  /** `--database-pool-size` / TOOLGATE_DATABASE_POOL_SIZE: connections in the PostgreSQL pool. */
  databasePoolSize?: number;
}

/**
 * Resolves `toolgate serve`'s settings: a flag wins over its environment variable, which wins over
 * the default. An empty variable counts as unset. Every bad value is a ConfigError that names where
 * it came from (the flag or the variable) and what to pass instead.
 */
export function resolveServeConfig(flags: ServeFlags, env: Record<string, string | undefined>, cwd = process.cwd()): ServeConfig {
  const pick = (flag: keyof ServeFlags, name: string) => {
    const f = flags[flag];
    if (f !== undefined) return { value: f, source: `--${flag}` };
    const e = env[name];
    if (e !== undefined && e.trim() !== '') return { value: e, source: name };
    return undefined;
  };

  const database = pick('database', SERVE_ENV.databaseUrl);
  const databaseValue = database?.value.trim();
  // The value is never echoed: a database URL carries its password.
  if (database && !/^postgres(ql)?:\/\/./i.test(databaseValue ?? '')) {
    throw new ConfigError(
      `${database.source} is not a PostgreSQL URL: use postgres://user:password@host:5432/database, or unset it to keep the SQLite store in the data dir (${SERVE_ENV.data} / --data)`,
    );
  }

  const poolSize = pick('database-pool-size', SERVE_ENV.databasePoolSize);
  let poolSizeValue: number | undefined;
  if (poolSize) {
    const text = poolSize.value.trim();
    poolSizeValue = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
    if (!(poolSizeValue >= 1 && poolSizeValue <= 1000)) {
      throw new ConfigError(`${poolSize.source} "${poolSize.value}" is not a pool size: use a whole number of connections from 1 to 1000 (default 10)`);
    }
    if (!databaseValue) {
      throw new ConfigError(`${poolSize.source} sizes the PostgreSQL pool: pass --database postgres://… (or ${SERVE_ENV.databaseUrl}) with it, or leave it out with the SQLite store`);
    }
  }

  const host = pick('host', SERVE_ENV.host);
  const hostValue = host?.value.trim() ?? SERVE_DEFAULTS.host;
  if (hostValue === '' || /[\s/@]/.test(hostValue)) {
    throw new ConfigError(`${host?.source ?? '--host'} "${host?.value}" is not an address to bind: use an IP address or host name, e.g. 127.0.0.1 (loopback, the default) or 0.0.0.0 (every interface)`);
  }

  const port = pick('port', SERVE_ENV.port);
  let portValue = SERVE_DEFAULTS.port;
  if (port) {
    const text = port.value.trim();
    portValue = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
    if (!(portValue >= 0 && portValue <= 65535)) {
      throw new ConfigError(`${port.source} "${port.value}" is not a port: use a whole number from 0 to 65535 (0 picks a free port)`);
    }
  }

  const level = pick('log-level', SERVE_ENV.logLevel);
  const levelValue = (level?.value.trim().toLowerCase() ?? SERVE_DEFAULTS.logLevel) as LogLevel;
  if (!LOG_LEVELS.includes(levelValue)) {
    throw new ConfigError(`${level?.source} "${level?.value}" is not a log level: use one of ${LOG_LEVELS.join(', ')} (default info)`);
  }

  const policy = pick('policy', SERVE_ENV.policy);
  let policyPath: string | undefined;
  if (policy) {
    policyPath = resolve(cwd, policy.value.trim());
    if (!existsSync(policyPath) || !statSync(policyPath).isFile()) {
      throw new ConfigError(`${policy.source} "${policy.value}": no policy file at ${policyPath}; pass the path of a YAML/JSON policy (\`toolgate init\` writes a starter one), or leave it out to send every call to a human`);
    }
  }

  const data = pick('data', SERVE_ENV.data);
  const dataDir = resolve(cwd, data?.value.trim() || SERVE_DEFAULTS.data);
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
    throw new ConfigError(`${data?.source ?? '--data'} "${data?.value ?? SERVE_DEFAULTS.data}": ${dataDir} is a file, not a directory; pass a directory for the database, audit trail and signing key`);
  }

  return { host: hostValue, port: portValue, policy: policyPath, logLevel: levelValue, dataDir, ...(databaseValue ? { database: databaseValue } : {}), ...(poolSizeValue !== undefined ? { databasePoolSize: poolSizeValue } : {}) };
}
