/** PostgreSQL helpers for the server benches: a fresh database, and what PostgreSQL itself spends. */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU time (µs) of the PostgreSQL server listening on `port` and all its backends, from /proc. */
export function postgresCpuUs(port: number): number {
  const tick = 1e6 / 100; // USER_HZ is 100 on Linux
  const procs = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  const stat = (pid: string) => {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return { ppid: f[1]!, cpu: (Number(f[11]) + Number(f[12])) * tick };
    } catch {
      return undefined;
    }
  };
  const postmaster = procs.find((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return cmd[0]?.endsWith('postgres') && cmd.includes('-p') && cmd[cmd.indexOf('-p') + 1] === String(port);
    } catch {
      return false;
    }
  });
  if (!postmaster) return Number.NaN;
  let total = stat(postmaster)?.cpu ?? 0;
  for (const pid of procs) {
    const s = stat(pid);
    if (s && s.ppid === postmaster) total += s.cpu;
  }
  return total;
}

/** A new, empty database `name` on the server at `serverUrl` (an admin URL), and its URL: the reviewer tests' helper. */
export { freshDatabase } from '../../packages/reviewer/src/testing/postgres-database.ts';
