/**
 * `pnpm bench`: every benchmark in one run, printed as one table. Numbers are this machine's;
 * see docs/benchmarks.md for what they mean. `--only=micro,peer,scale,http,server,replicas,audit,mcp,aisdk,openai,langgraph,serverfloor,rss` runs a subset;
 * `--json=path` also writes the rows as JSON.
 */
import { writeFileSync } from 'node:fs';
import { cpus, freemem, totalmem } from 'node:os';
import { renderTable, type Row } from './lib/stats.ts';
import { aiSdkAdapterSuite } from './suites/ai-sdk-adapter.ts';
import { auditSuite } from './suites/audit.ts';
import { httpSuite } from './suites/http-reviewer.ts';
import { microSuite } from './suites/micro.ts';
import { mcpProxySuite } from './suites/mcp-proxy.ts';
import { peerSuite } from './suites/peer.ts';
import { policyScaleSuite } from './suites/policy-scale.ts';
import { reviewServerSuite } from './suites/review-server.ts';
import { replicasSuite } from './suites/replicas.ts';
import { rssSuite } from './suites/rss.ts';
import { langGraphAdapterSuite } from './suites/langgraph-adapter.ts';
import { openAiAgentsAdapterSuite } from './suites/openai-agents-adapter.ts';
import { serverFloorSuite } from './suites/server-floor.ts';

const suites: Record<string, () => Promise<Row[]>> = {
  micro: microSuite,
  peer: peerSuite,
  scale: policyScaleSuite,
  http: httpSuite,
  server: reviewServerSuite,
  replicas: replicasSuite,
  audit: auditSuite,
  mcp: mcpProxySuite,
  aisdk: () => aiSdkAdapterSuite(),
  openai: () => openAiAgentsAdapterSuite(),
  langgraph: () => langGraphAdapterSuite(),
  serverfloor: () => serverFloorSuite(),
  rss: () => rssSuite(),
};
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const jsonOut = process.argv.find((a) => a.startsWith('--json='))?.slice(7);

console.log(`toolgate bench — node ${process.version}, ${cpus().length} CPU (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM (${(freemem() / 2 ** 30).toFixed(1)} free)`);
const rows: Row[] = [];
const started = performance.now();
for (const [name, suite] of Object.entries(suites)) {
  if (only && !only.includes(name)) continue;
  const t = performance.now();
  process.stdout.write(`running ${name}… `);
  try {
    const got = await suite();
    rows.push(...got);
    console.log(`${((performance.now() - t) / 1_000).toFixed(1)} s`);
  } catch (error) {
    console.log('FAILED');
    console.error(error);
    process.exitCode = 1;
  }
}
console.log(`\n${renderTable(rows)}\n\ntotal ${((performance.now() - started) / 1_000).toFixed(0)} s`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ node: process.version, cpus: cpus().length, rows }, null, 2));
