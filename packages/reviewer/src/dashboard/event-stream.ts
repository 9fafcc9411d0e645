import type { ServerResponse } from 'node:http';
import type { ReviewEvents, ReviewService, ReviewView } from '../server/review-service';
import { visibleValue } from '../server/visible-text';

const EVENTS = ['review.created', 'review.approved', 'review.decided', 'review.outcome'] as const satisfies ReadonlyArray<keyof ReviewEvents>;

export interface EventHub {
  /** Streams review events to `res` (already hijacked) until the client leaves, the session ends or the hub closes. */
  attach(sessionId: string, res: ServerResponse): void;
  /** Ends the streams of one session (logout, expiry). */
  endSession(sessionId: string): void;
  /** Ends every stream and stops listening to the service. */
  close(): void;
  readonly size: number;
}

/** Server-Sent Events fan-out of the service's review events to signed-in dashboards. */
export function createEventHub(
  service: ReviewService,
  options: { heartbeatMs?: number; maxPerSession?: number; isValid?: (sessionId: string) => boolean | Promise<boolean> } = {},
): EventHub {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxPerSession = options.maxPerSession ?? 8;
  const clients = new Map<ServerResponse, string>();

  const write = (res: ServerResponse, chunk: string) => {
    if (!res.writableEnded && !res.destroyed) res.write(chunk);
  };
  const broadcast = (event: string) => (view: ReviewView) => {
    // What a human reads: controls and bidi overrides as visible escapes (the view carries the flag).
    const chunk = `event: ${event}\ndata: ${JSON.stringify(visibleValue(view))}\n\n`;
    // Checked before every event, not only at the heartbeat: a revoked key's stream must not
    // receive the next review's arguments.
    for (const [res, sessionId] of [...clients]) checked(res, sessionId, chunk);
  };
  // Writes `chunk` only if the session is still valid (decided synchronously on SQLite; on
  // PostgreSQL after the key lookup, so a revoked key's stream still gets nothing more).
  const checked = (res: ServerResponse, sessionId: string, chunk: string) => {
    const ok = options.isValid ? options.isValid(sessionId) : true;
    if (ok === true) write(res, chunk);
    else if (ok === false) end(res);
    else ok.then((v) => (v ? write(res, chunk) : end(res)), () => end(res));
  };
  const handlers = EVENTS.map((e) => [e, broadcast(e)] as const);
  for (const [e, h] of handlers) service.events.on(e, h);

  // Each heartbeat also re-checks the sessions: a stream of an expired session or a revoked key ends.
  const heartbeat = setInterval(() => {
    for (const [res, sessionId] of [...clients]) checked(res, sessionId, `: keep-alive ${Date.now()}\n\n`);
  }, heartbeatMs);
  heartbeat.unref();

  const end = (res: ServerResponse) => {
    clients.delete(res);
    if (!res.writableEnded) res.end();
  };

  return {
    attach(sessionId, res) {
      const mine = [...clients].filter(([, s]) => s === sessionId).map(([r]) => r);
      // A session opening more streams than tabs plausibly need: drop its oldest.
      if (mine.length >= maxPerSession && mine[0]) end(mine[0]);
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
      });
      res.write('retry: 2000\n: connected\n\n');
      clients.set(res, sessionId);
      res.on('close', () => clients.delete(res));
    },
    endSession(sessionId) {
      for (const [res, s] of [...clients]) if (s === sessionId) end(res);
    },
    close() {
      clearInterval(heartbeat);
      for (const [e, h] of handlers) service.events.off(e, h);
      for (const res of [...clients.keys()]) end(res);
    },
    get size() {
      return clients.size;
    },
  };
}
