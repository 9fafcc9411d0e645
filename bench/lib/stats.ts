/** Small helpers shared by the bench suites: percentiles, formatting, one result row. */

export interface Row {
  /** Group heading in the printed table. */
  group: string;
  name: string;
  /** Median, formatted with its unit. */
  p50: string;
  p99: string;
  /** Throughput or a ratio, formatted. */
  extra: string;
  /** The target from issue 5, and whether this run met it. */
  target: string;
  met: boolean | null;
}

/** Percentile (0..100) of an unsorted sample, by nearest rank. */
export function percentile(samples: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(samples as ArrayLike<number>).sort();
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Formats nanoseconds as ns / µs / ms. */
export function ns(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (v < 1_000) return `${v.toFixed(v < 10 ? 2 : 0)} ns`;
  if (v < 1_000_000) return `${(v / 1_000).toFixed(2)} µs`;
  return `${(v / 1_000_000).toFixed(2)} ms`;
}

/** Formats milliseconds. */
export function ms(v: number): string {
  return ns(v * 1_000_000);
}

/** Formats a rate with thousands separators. */
export function rate(perSecond: number, unit = '/s'): string {
  return `${Math.round(perSecond).toLocaleString('en-US')}${unit}`;
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Prints rows as a Markdown table (readable in a terminal, pasteable into docs). */
export function renderTable(rows: ReadonlyArray<Row>): string {
  const head = ['Group', 'Benchmark', 'p50', 'p99', 'Throughput / ratio', 'Target', 'Met'];
  const body = rows.map((r) => [r.group, r.name, r.p50, r.p99, r.extra, r.target, r.met === null ? '—' : r.met ? 'yes' : 'NO']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
