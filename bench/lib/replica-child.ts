/**
 * One review server replica on a PostgreSQL database, in its own process (as `toolgate serve
 * --database` runs it), on 127.0.0.1:0. The first replica creates the API keys (committed before it
 * listens, so every replica accepts them); the others use them.
 *   parent → { op: 'cpu' }  child → { cpuUs, mainUs } (CPU time so far: whole process / main thread)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BENCH_POLICY } from './review-server-child.ts';

export interface ReplicaChild {
  url: string;
  evalKey: string;
  approveKey: string;
  pid: number;
  cpu(): Promise<{ cpuUs: number; mainUs: number }>;
  close(): Promise<void>;
}

async function serve(database: string, makeKeys: boolean, poolSize: number, policy: unknown): Promise<void> {
  const { createReviewServer } = await import('@toolgate/reviewer');
  const server = createReviewServer({ database, databasePoolSize: poolSize, policy: policy as never, port: 0, defaultMetrics: false, dashboard: false });
  const keys = makeKeys ? { evalKey: server.keys.create('eval', 'bench-agent'), approveKey: server.keys.create('approve', 'bench-human') } : { evalKey: '', approveKey: '' };
  // listen() waits for the keys' rows to be committed.
  const url = await server.listen();
  process.send?.({ url, ...keys });
  process.on('message', (m: { op: string }) => {
    if (m.op === 'cpu') {
      process.send?.({
        cpuUs: (({ user, system }) => user + system)(process.cpuUsage()),
        mainUs: (({ user, system }) => user + system)(process.threadCpuUsage()),
      });
    }
  });
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
}

/** Starts one replica on `database` in a child process (`policy`: default `BENCH_POLICY`). */
export async function startReplicaChild(database: string, options: { makeKeys: boolean; poolSize?: number; policy?: unknown }): Promise<ReplicaChild> {
  const policy = JSON.stringify(options.policy ?? BENCH_POLICY);
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--replica', database, options.makeKeys ? 'keys' : 'nokeys', String(options.poolSize ?? 10), policy], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // BENCH_SERVER_PROF=dir writes a V8 CPU profile of the replica (to find where its time goes).
    execArgv: process.env.BENCH_SERVER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROF}`] : [],
  });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`replica child exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m as Record<string, unknown>);
      });
    });
  const hello = (await next()) as { url: string; evalKey: string; approveKey: string };
  return {
    ...hello,
    pid: child.pid!,
    async cpu() {
      const p = next();
      child.send({ op: 'cpu' });
      return (await p) as { cpuUs: number; mainUs: number };
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const at = process.argv.indexOf('--replica');
if (at !== -1) void serve(process.argv[at + 1]!, process.argv[at + 2] === 'keys', Number(process.argv[at + 3]), JSON.parse(process.argv[at + 4]!));
