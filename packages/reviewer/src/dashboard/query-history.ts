import type { ReviewService, ReviewView } from '../server/review-service';

/** Filters of the decided-history table. */
export interface HistoryFilter {
  verdict?: 'allow' | 'deny';
  /** Exact tool name. */
  tool?: string;
  /** Case-insensitive substring of `decidedBy` (`alice` finds `human:alice`; `policy`, `expiry`). */
  decidedBy?: string;
  /** Page size. Default 25. */
  limit?: number;
  /** Cursor: only reviews created before this (ms since epoch), from a previous page's `next`. */
  before?: number;
}

const PAGE = 200;
/** Stop scanning after this many rows per request so one query cannot walk a huge table. */
const MAX_SCAN = 5_000;

/**
 * Decided reviews, newest first, filtered by verdict, tool and decider. The store filters status
 * and tool; verdict and decider are matched here while paging through the store, so `next` is a
 * cursor to continue from (also when the scan cap was hit before the page filled).
 */
export function queryHistory(service: ReviewService, filter: HistoryFilter): { reviews: ReviewView[]; next: number | null } {
  const limit = Math.min(Math.max(filter.limit ?? 25, 1), 200);
  const who = filter.decidedBy?.trim().toLowerCase();
  const matches = (r: ReviewView) =>
    (!filter.verdict || r.verdict === filter.verdict) && (!who || (r.decidedBy ?? '').toLowerCase().includes(who));

  const out: ReviewView[] = [];
  let before = filter.before;
  let scanned = 0;
  for (;;) {
    const page = service.list({ status: 'decided', ...(filter.tool ? { tool: filter.tool } : {}), ...(before !== undefined ? { before } : {}), limit: PAGE });
    if (page.length === 0) return { reviews: out, next: null };
    // `before` is exclusive on created_at: leave rows that share the last timestamp for the next
    // page so none is skipped (unless the whole page shares one millisecond).
    let rows = page;
    if (page.length === PAGE) {
      const lastAt = page[page.length - 1]!.createdAt;
      const trimmed = page.filter((r) => r.createdAt !== lastAt);
      if (trimmed.length > 0) rows = trimmed;
    }
    for (const r of rows) {
      scanned++;
      if (!matches(r)) continue;
      out.push(r);
      if (out.length === limit) return { reviews: out, next: Date.parse(r.createdAt) };
    }
    if (page.length < PAGE) return { reviews: out, next: null };
    before = Date.parse(rows[rows.length - 1]!.createdAt);
    if (scanned >= MAX_SCAN) return { reviews: out, next: before };
  }
}
