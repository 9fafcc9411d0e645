/**
 * The review server against its floor, in one run under the same load (issue 13): a bare Fastify
 * route that parses the same request and answers the same JSON as a decided review, then the review
 * server on SQLite, then one replica on PostgreSQL (embedded, started here). Every server runs in
 * its own child process; CPU per request is the child's `process.cpuUsage()` over the measured
 * window divided by the requests it answered (for the review servers: the decisions persisted).
 *
 *   BENCH_FLOOR_ROUNDS=n          rounds, each measuring every server once (default 1); rows report the median round
 *   BENCH_FLOOR_DURATION=s        measured seconds per server and round (default 10, after 2 s of warm-up)
 *   BENCH_FLOOR_PG=0              skip PostgreSQL
 *   BENCH_SERVER_BEFORE=/worktree also measure the review servers of another checkout (built), interleaved in
 *                                 the same rounds: e.g. `git worktree add /tmp/srv-before <commit>` + build there
 *   BENCH_SERVER_PROF=dir         CPU profiles of the review server children (--cpu-prof)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callDigest } from '@toolgate/core';
import autocannon from 'autocannon';
import pg from 'pg';
import { startPostgres, type StartedPostgres } from '../../test/support/embedded-postgres.ts';
import { freshDatabase, postgresCpuUs } from '../lib/postgres.ts';
import { ms, rate, type Row } from '../lib/stats.ts';

const CONNECTIONS = 64;
const WARMUP_S = 2;
const load1 = () => loadavg()[0]!.toFixed(2);

// ---------------------------------------------------------------------------------------------
// The bare Fastify floor (a child process running this file with --floor)

async function serveFloor(answer: string): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  const body = JSON.parse(answer) as Record<string, unknown>;
  let answered = 0;
  // Parses the JSON request (Fastify's parser), answers the same object a decided review answers (serialised per request).
  app.post('/v1/reviews', async (request) => {
    if (typeof request.body !== 'object' || request.body === null) throw new Error('no body');
    answered++;
    return body;
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const a = app.server.address();
  const url = a && typeof a === 'object' ? `http://127.0.0.1:${a.port}` : '';
  process.send?.({ url });
  process.on('message', (m: { op: string }) => {
    if (m.op === 'cpu') {
      process.send?.({
        answered,
        cpuUs: (({ user, system }) => user + system)(process.cpuUsage()),
        mainUs: (({ user, system }) => user + system)(process.threadCpuUsage()),
      });
    }
  });
  const stop = () => void app.close().then(() => process.exit(0));
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
}

interface Child {
  url: string;
  evalKey: string;
  /** Requests answered / decisions persisted so far, and CPU time so far (whole process / main thread). */
  sample(): Promise<{ count: number; cpuUs: number; mainUs: number }>;
  close(): Promise<void>;
}

function ipc(child: ChildProcess) {
  return () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`bench child exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m as Record<string, unknown>);
      });
    });
}

const closer = (child: ChildProcess) => async () => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
};

async function startFloor(answer: string): Promise<Child> {
  const child = fork(fileURLToPath(import.meta.url), ['--floor', answer], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = ipc(child);
  const hello = (await next()) as { url: string };
  return {
    url: hello.url,
    evalKey: 'unused',
    async sample() {
      const p = next();
      child.send({ op: 'cpu' });
      const s = (await p) as { answered: number; cpuUs: number; mainUs: number };
      return { count: s.answered, cpuUs: s.cpuUs, mainUs: s.mainUs };
    },
    close: closer(child),
  };
}

/** The review server on SQLite, from `root` (this checkout or BENCH_SERVER_BEFORE). */
async function startSqlite(root: string): Promise<Child> {
  const { startReviewServerChild } = (await import(join(root, 'bench/lib/review-server-child.ts'))) as typeof import('../lib/review-server-child.ts');
  const s = await startReviewServerChild();
  return {
    url: s.url,
    evalKey: s.evalKey,
    async sample() {
      const st = await s.stats();
      return { count: st.decided, cpuUs: st.cpuUs, mainUs: st.mainUs };
    },
    close: () => s.close(),
  };
}

/** One replica on a fresh PostgreSQL database, from `root`. */
async function startPg(root: string, postgres: StartedPostgres, name: string): Promise<Child> {
  const { startReplicaChild } = (await import(join(root, 'bench/lib/replica-child.ts'))) as typeof import('../lib/replica-child.ts');
  const database = await freshDatabase(postgres.url, name);
  const r = await startReplicaChild(database, { makeKeys: true });
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  return {
    url: r.url,
    evalKey: r.evalKey,
    async sample() {
      const [c, n] = await Promise.all([r.cpu(), client.query(`SELECT count(*) AS n FROM reviews WHERE status = 'decided'`)]);
      return { count: Number(n.rows[0].n), cpuUs: c.cpuUs, mainUs: c.mainUs };
    },
    async close() {
      await client.end().catch(() => {});
      await r.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Load (the same requests as bench/suites/review-server.ts)

const ARGS = { amount: 10, to: 'acct_42' };
const DIGEST = callDigest('transfer', ARGS);
let seq = 0;
const body = (tag: string) => {
  seq += 1;
  return JSON.stringify({ idempotencyKey: `tg1:${tag}:c${seq}`, call: { tool: 'transfer', args: ARGS, callId: `c${seq}`, runId: tag }, digest: DIGEST, agent: { id: 'bench' } });
};

function load(child: Child, durationS: number, tag: string) {
  return autocannon({
    url: child.url,
    connections: CONNECTIONS,
    duration: durationS,
    requests: [
      {
        method: 'POST',
        path: '/v1/reviews',
        headers: { authorization: `Bearer ${child.evalKey}`, 'content-type': 'application/json' },
        setupRequest: (req: Record<string, unknown>) => ({ ...req, body: body(tag) }),
      },
    ],
  });
}

interface Measured {
  perSecond: number;
  cpuUs: number;
  mainUs: number;
  cores: number;
  dbUs: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  loadBefore: string;
  loadAfter: string;
}

async function measure(child: Child, durationS: number, tag: string, dbCpu: () => number = () => Number.NaN): Promise<Measured> {
  await load(child, WARMUP_S, `${tag}w`);
  const loadBefore = load1();
  const s0 = await child.sample();
  const db0 = dbCpu();
  const r = await load(child, durationS, tag);
  const s1 = await child.sample();
  const db1 = dbCpu();
  const n = s1.count - s0.count;
  return {
    perSecond: n / durationS,
    cpuUs: (s1.cpuUs - s0.cpuUs) / n,
    mainUs: (s1.mainUs - s0.mainUs) / n,
    cores: (s1.cpuUs - s0.cpuUs) / 1e6 / durationS,
    dbUs: (db1 - db0) / n,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    loadBefore,
    loadAfter: load1(),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
/** The round whose CPU per request is the median (its other figures come with it). */
const medianRound = (ms: Measured[]) => {
  const m = median(ms.map((x) => x.cpuUs));
  return ms.find((x) => x.cpuUs === m)!;
};

// ---------------------------------------------------------------------------------------------

export async function serverFloorSuite(): Promise<Row[]> {
  const rounds = Number(process.env.BENCH_FLOOR_ROUNDS ?? 1);
  const durationS = Number(process.env.BENCH_FLOOR_DURATION ?? 10);
  const withPg = process.env.BENCH_FLOOR_PG !== '0';
  const here = fileURLToPath(new URL('../..', import.meta.url));
  const before = process.env.BENCH_SERVER_BEFORE;
  if (before && !existsSync(join(before, 'bench/lib/review-server-child.ts'))) throw new Error(`BENCH_SERVER_BEFORE=${before} has no bench/lib/review-server-child.ts`);
  const builds: Array<{ label: string; root: string }> = [{ label: 'this build', root: here }];
  if (before) builds.push({ label: 'before', root: before });

  // The bare route answers what a decided review answers: take one from the server (same size and shape).
  const probeServer = await startSqlite(here);
  let answer: string;
  try {
    const res = await fetch(`${probeServer.url}/v1/reviews`, {
      method: 'POST',
      headers: { authorization: `Bearer ${probeServer.evalKey}`, 'content-type': 'application/json' },
      body: body('probe'),
    });
    answer = await res.text();
    const parsed = JSON.parse(answer) as { status?: string; proof?: string };
    if (res.status !== 200 || parsed.status !== 'decided' || !parsed.proof) throw new Error(`unexpected probe answer ${res.status} ${answer}`);
  } finally {
    await probeServer.close();
  }

  let postgres: StartedPostgres | undefined;
  const results = new Map<string, Measured[]>();
  const add = (key: string, m: Measured) => results.set(key, [...(results.get(key) ?? []), m]);
  let dbN = 0;
  try {
    if (withPg) postgres = await startPostgres({ startTimeoutMs: 60_000 });
    for (let round = 0; round < rounds; round++) {
      // Alternate the order of the builds between rounds so neither always runs first.
      const order = round % 2 === 0 ? builds : [...builds].reverse();
      const floor = await startFloor(answer);
      try {
        add('floor', await measure(floor, durationS, `f${round}`));
      } finally {
        await floor.close();
      }
      for (const b of order) {
        const s = await startSqlite(b.root);
        try {
          add(`sqlite:${b.label}`, await measure(s, durationS, `s${round}`));
        } finally {
          await s.close();
        }
      }
      if (postgres) {
        for (const b of order) {
          const p = await startPg(b.root, postgres, `floor_${dbN++}`);
          try {
            add(`pg:${b.label}`, await measure(p, durationS, `p${round}`, () => postgresCpuUs(postgres!.port)));
          } finally {
            await p.close();
          }
        }
      }
    }
  } finally {
    await postgres?.stop();
  }

  const floor = medianRound(results.get('floor')!);
  const rows: Row[] = [];
  const note = (m: Measured) => `loadavg ${m.loadBefore} → ${m.loadAfter}; non-2xx ${m.non2xx}, errors ${m.errors}`;
  const roundsNote = rounds > 1 ? ` (median of ${rounds} rounds)` : '';
  rows.push({
    group: 'server floor',
    name: `bare Fastify POST route, same request and ${answer.length} B JSON answer, autocannon ${CONNECTIONS} conns, ${durationS}s${roundsNote}`,
    p50: ms(floor.p50),
    p99: ms(floor.p99),
    extra: `${rate(floor.perSecond)} req; ${floor.cpuUs.toFixed(1)} µs CPU/request (main ${floor.mainUs.toFixed(1)}), ${floor.cores.toFixed(2)} cores; ${note(floor)}`,
    target: 'baseline',
    met: null,
  });
  for (const engine of ['sqlite', 'pg'] as const) {
    for (const b of builds) {
      const got = results.get(`${engine}:${b.label}`);
      if (!got) continue;
      const m = medianRound(got);
      const ratio = m.cpuUs / floor.cpuUs;
      const db = Number.isNaN(m.dbUs) ? '' : `; PostgreSQL ${Math.round(m.dbUs)} µs CPU/decision`;
      const vsBefore = b.label === 'this build' && results.get(`${engine}:before`) ? `; ×${(m.cpuUs / medianRound(results.get(`${engine}:before`)!).cpuUs).toFixed(2)} CPU of before` : '';
      const sqlite = engine === 'sqlite';
      rows.push({
        group: 'server floor',
        name: `review server (${b.label}) on ${sqlite ? 'SQLite + JSONL' : 'PostgreSQL (1 replica, pool 10)'}: POST /v1/reviews, signed persisted decision${roundsNote}`,
        p50: ms(m.p50),
        p99: ms(m.p99),
        extra: `${rate(m.perSecond)} decisions; ${m.cpuUs.toFixed(1)} µs CPU/decision (main ${m.mainUs.toFixed(1)}), ${m.cores.toFixed(2)} cores; **${ratio.toFixed(2)}× the bare route's CPU**${vsBefore}${db}; ${note(m)}`,
        target: sqlite ? '≤ 200 µs, ≤ 2.5× floor' : 'reported',
        met: sqlite && b.label === 'this build' ? m.cpuUs <= 200 && ratio <= 2.5 && m.non2xx === 0 && m.errors === 0 : null,
      });
    }
  }
  return rows;
}

const at = process.argv.indexOf('--floor');
if (at !== -1) void serveFloor(process.argv[at + 1]!);
