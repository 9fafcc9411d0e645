/** What `interleave` needs of a subject: one run, and where its samples go. */
export interface Batched {
  once: () => Promise<void>;
  /** Wall time of each run, ns. */
  samples: number[];
  /** CPU per run, ns, one entry per batch. */
  cpu: number[];
}

/**
 * Runs every subject `perBatch` times per round, in an order that rotates each round, in this
 * process: drift and GC hit every subject alike. Fills each subject's per-run wall samples (ns) and
 * its CPU per run (ns) per batch.
 */
export async function interleave(subjects: Batched[], rounds: number, perBatch: number): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < subjects.length; j++) {
      const s = subjects[(r + j) % subjects.length]!;
      const c0 = process.cpuUsage();
      for (let i = 0; i < perBatch; i++) {
        const t = performance.now();
        await s.once();
        s.samples.push((performance.now() - t) * 1e6);
      }
      const c = process.cpuUsage(c0);
      s.cpu.push(((c.user + c.system) * 1e3) / perBatch);
    }
  }
}
