import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { mib, rate, type Row } from '../lib/stats.ts';

/** Runs lib/rss-child.ts in a fresh process and reports RSS / heap growth over 1,000,000 gated calls. */
export async function rssSuite(calls = 1_000_000): Promise<Row[]> {
  const child = fileURLToPath(new URL('../lib/rss-child.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', child, String(calls)], { maxBuffer: 1 << 20 });
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { calls: number; records: number; seconds: number; rssStart: number; rssEnd: number; heapStart: number; heapEnd: number; samples: number[] };
  if (r.records !== r.calls) throw new Error(`audit saw ${r.records} records for ${r.calls} calls`);
  const peak = Math.max(...r.samples);
  return [
    {
      group: 'memory',
      name: `${r.calls.toLocaleString('en-US')} gated calls (policy + callbackAudit), RSS after GC`,
      p50: '',
      p99: '',
      extra: `RSS ${mib(r.rssStart)} → ${mib(r.rssEnd)} (${r.rssEnd >= r.rssStart ? '+' : ''}${mib(r.rssEnd - r.rssStart)}, peak ${mib(peak)}); heap ${mib(r.heapStart)} → ${mib(r.heapEnd)}; ${rate(r.calls / r.seconds, ' calls/s')}`,
      target: 'reported (flat)',
      met: null,
    },
  ];
}
