import type { ReviewService, ReviewView } from '../server/review-service';

/** Filters of the decided-history table. */
export interface HistoryFilter {
  verdict?: 'allow' | 'deny';
  /** Exact tool name. */
  tool?: string;
  /** Case-insensitive substring of `decidedBy` (`alice` finds `human:alice`; `policy`, `expiry`). */
  decidedBy?: string;
  /** Page size. Default 25, at most 200. */
  limit?: number;
  /** Where the previous page stopped (its `next`). */
  cursor?: string;
}

const PAGE = 200;
/** The store answers at most this many rows per list call. */
const STORE_MAX = 500;
/** Stop scanning after this many rows per request so one query cannot walk a huge table. */
const MAX_SCAN = 5_000;

/** A cursor is `<createdAt ms>.<n>`: the last row consumed was the n-th (1-based) row created in that millisecond. */
export function isHistoryCursor(v: string): boolean {
  return /^\d{1,16}\.\d{1,4}$/.test(v);
}

interface Position {
  at: number;
  n: number;
}

function parseCursor(cursor: string | undefined): Position | undefined {
  if (!cursor || !isHistoryCursor(cursor)) return undefined;
  const [at, n] = cursor.split('.').map(Number) as [number, number];
  return { at, n };
}

/**
 * Decided reviews, newest first, filtered by verdict, tool and decider. The store filters status
 * and tool; verdict and decider are matched here while paging through the store. The cursor
 * counts rows within a millisecond, so reviews created in the same millisecond are neither
 * skipped nor repeated across pages (the store orders ties by id). `next` is null at the end, and
 * also set when the scan cap was hit before the page filled.
 */
export async function queryHistory(service: ReviewService, filter: HistoryFilter): Promise<{ reviews: ReviewView[]; next: string | null }> {
  const limit = Math.min(Math.max(filter.limit ?? 25, 1), 200);
  const who = filter.decidedBy?.trim().toLowerCase();
  const matches = (r: ReviewView) =>
    (!filter.verdict || r.verdict === filter.verdict) && (!who || (r.decidedBy ?? '').toLowerCase().includes(who));
  const cursorOf = (p: Position) => `${p.at}.${p.n}`;

  const out: ReviewView[] = [];
  let pos = parseCursor(filter.cursor);
  let scanned = 0;
  for (;;) {
    const start = pos;
    const want = Math.min(STORE_MAX, (start?.n ?? 0) + PAGE);
    const page = await service.list({
      status: 'decided',
      ...(filter.tool ? { tool: filter.tool } : {}),
      ...(start ? { before: start.at + 1 } : {}),
      limit: want,
    });
    // The rows of `start.at` already consumed come first (same millisecond, ordered by id): drop them.
    let drop = start?.n ?? 0;
    let fresh = 0;
    for (const r of page) {
      const t = Date.parse(r.createdAt);
      if (start && drop > 0 && t === start.at) {
        drop--;
        continue;
      }
      fresh++;
      scanned++;
      pos = pos && pos.at === t ? { at: t, n: pos.n + 1 } : { at: t, n: 1 };
      if (!matches(r)) continue;
      out.push(r);
      if (out.length === limit) return { reviews: out, next: cursorOf(pos) };
    }
    // End of the table, or (absurdly) more rows in one millisecond than the store lists at once.
    if (page.length < want || fresh === 0 || !pos) return { reviews: out, next: null };
    if (scanned >= MAX_SCAN) return { reviews: out, next: cursorOf(pos) };
  }
}
