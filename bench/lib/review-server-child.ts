/**
 * Runs the reference review server in its own process (so the load generator and the server do
 * not share a thread), on 127.0.0.1:0, and answers a few questions over IPC.
 *   parent → { op: 'stats' }  child → { reviews, decided, auditRows, cpuUs / mainUs (CPU time so far: whole process / main thread) }
 * Started by `startReviewServerChild()`; also used by the reliability crash test.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_POLICY = {
  version: 1,
  default: 'review',
  rules: [
    { id: 'small-transfer', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte', value: 1000 }], verdict: 'allow' },
    { id: 'deploy-needs-human', tools: ['deploy'], verdict: 'review' },
  ],
} as const;

export interface ServerChild {
  url: string;
  evalKey: string;
  approveKey: string;
  dataDir: string;
  pid: number;
  stats(): Promise<{ reviews: number; decided: number; auditRows: number; cpuUs: number; mainUs: number }>;
  close(): Promise<void>;
}

async function serve(dataDir: string): Promise<void> {
  const { createReviewServer } = await import('@toolgate/reviewer');
  const server = createReviewServer({ dataDir, policy: BENCH_POLICY as never, port: 0, defaultMetrics: false, dashboard: false });
  const evalKey = server.keys.create('eval', 'bench-agent');
  const approveKey = server.keys.create('approve', 'bench-human');
  const url = await server.listen();
  process.send?.({ url, evalKey, approveKey });
  process.on('message', (m: { op: string }) => {
    if (m.op === 'stats') {
      const n = (sql: string) => Number((server.store.db.prepare(sql).get() as { n: number }).n);
      process.send?.({
        reviews: n('SELECT COUNT(*) AS n FROM reviews'),
        decided: n(`SELECT COUNT(*) AS n FROM reviews WHERE status = 'decided'`),
        auditRows: n('SELECT COUNT(*) AS n FROM audit'),
        cpuUs: (({ user, system }) => user + system)(process.cpuUsage()),
        mainUs: (({ user, system }) => user + system)(process.threadCpuUsage()),
      });
    }
  });
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
}

/** Starts the reference server in a child process with a fresh data dir. */
export async function startReviewServerChild(dataDir = mkdtempSync(join(tmpdir(), 'toolgate-bench-'))): Promise<ServerChild> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve', dataDir], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // BENCH_SERVER_PROF=dir writes a V8 CPU profile of the server (to find where its time goes).
    execArgv: process.env.BENCH_SERVER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROF}`] : [],
  });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Record<string, unknown>));
      child.once('exit', (code) => reject(new Error(`review server child exited (${code})`)));
    });
  const hello = (await next()) as { url: string; evalKey: string; approveKey: string };
  return {
    ...hello,
    dataDir,
    pid: child.pid!,
    async stats() {
      const p = next();
      child.send({ op: 'stats' });
      return (await p) as { reviews: number; decided: number; auditRows: number; cpuUs: number; mainUs: number };
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const at = process.argv.indexOf('--serve');
if (at !== -1) void serve(process.argv[at + 1]!);
