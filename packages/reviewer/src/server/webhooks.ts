import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import { ErrorCodes, OptionsError, parseRetryAfter, ReviewerError, withRetry } from '@toolgate/core';
import type { ServerMetrics } from './metrics';

/**
 * One webhook endpoint. Deliveries are signed with the Standard Webhooks scheme
 * (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp` and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
 */
export interface WebhookTarget {
  url: string;
  /** `whsec_` + base64 of 24 to 64 random bytes (`createWebhookSecret()` makes one). */
  secret: string;
}

export interface WebhookOptions {
  /** Attempts per delivery, first included. Default 5. */
  attempts?: number;
  /** First retry delay; doubles each time, with full jitter. Default 500 ms. */
  baseDelayMs?: number;
  /** Largest retry delay (a receiver's Retry-After counts too). Default 30 000 ms. */
  maxDelayMs?: number;
  /** Per-attempt timeout. Default 10 000 ms. */
  timeoutMs?: number;
  /** Deliveries in flight or waiting to retry; beyond this, new ones are dropped (and counted). Default 10 000. */
  maxQueue?: number;
}

export interface WebhookDispatcher {
  /** Queues a signed delivery to every target. Never blocks or throws. */
  emit(type: string, data: unknown): void;
  /** False when there is no target (callers can skip building the payload). */
  readonly active: boolean;
  /** Stops retrying and waits (bounded) for attempts in flight. */
  close(): Promise<void>;
}

/** The Standard Webhooks headers of one delivery attempt. */
export interface WebhookSignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

const SECRET_PREFIX = 'whsec_';

/** A fresh Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function createWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** The key bytes of a `whsec_…` secret, or undefined when it is not one (24 to 64 bytes, canonical base64). */
function secretKey(secret: unknown): Buffer | undefined {
  if (typeof secret !== 'string' || !secret.startsWith(SECRET_PREFIX)) return undefined;
  const b64 = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const key = Buffer.from(b64, 'base64');
  if (key.toString('base64') !== b64 || key.length < 24 || key.length > 64) return undefined;
  return key;
}

/**
 * Signs one delivery with the Standard Webhooks scheme: `v1,` + base64 HMAC-SHA256, keyed with the
 * base64-decoded part of the `whsec_` secret, over `${id}.${timestamp}.${body}` (timestamp in
 * seconds). Receivers verify with any Standard Webhooks library, e.g. `new Webhook(secret).verify(body, headers)`.
 */
export function signWebhook(secret: string, message: { id: string; timestamp: number; body: string }): WebhookSignatureHeaders {
  const key = secretKey(secret);
  if (!key) throw new OptionsError('signWebhook: the secret must be whsec_ followed by base64 of 24 to 64 bytes (createWebhookSecret() makes one)');
  if (!Number.isSafeInteger(message.timestamp) || message.timestamp < 0) throw new OptionsError('signWebhook: timestamp must be whole seconds since the epoch');
  const mac = createHmac('sha256', key).update(`${message.id}.${message.timestamp}.${message.body}`, 'utf8').digest('base64');
  return { 'webhook-id': message.id, 'webhook-timestamp': String(message.timestamp), 'webhook-signature': `v1,${mac}` };
}

/** How long one delivery keeps retrying at most (a Retry-After beyond it ends the delivery). */
const DELIVERY_WINDOW_MS = 15 * 60_000;

/**
 * Signed webhook deliveries with bounded retries: core's `withRetry` (exponential backoff with
 * full jitter, Retry-After honoured). Network errors, timeouts, 5xx, 408 and 429 are retried;
 * another 4xx is the receiver refusing the delivery and is not. Each attempt is signed anew (a
 * fresh `webhook-timestamp`, so a late retry still passes the receiver's replay window) with the
 * same `webhook-id` (receivers dedupe on it). Deliveries run off the decision path: `emit` only queues.
 */
export function createWebhookDispatcher(targets: readonly WebhookTarget[], metrics: ServerMetrics, options: WebhookOptions = {}): WebhookDispatcher {
  for (const t of targets) {
    let u: URL;
    try {
      u = new URL(t.url);
    } catch {
      throw new OptionsError(`webhooks: url must be an absolute http(s) URL, got ${JSON.stringify(t.url)}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new OptionsError(`webhooks: ${t.url} must be http or https`);
    if (!secretKey(t.secret)) {
      throw new OptionsError(`webhooks: the secret for ${t.url} must be a Standard Webhooks secret: whsec_ followed by base64 of 24 to 64 random bytes (createWebhookSecret() makes one)`);
    }
  }
  const attempts = options.attempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxQueue = options.maxQueue ?? 10_000;
  const agent = targets.length ? new Agent({ connections: 8, keepAliveTimeout: 10_000 }) : undefined;
  const inflight = new Set<Promise<void>>();
  const closing = new AbortController();
  let closed = false;
  let closedPromise: Promise<void> | undefined;

  const attempt = async (target: WebhookTarget, id: string, body: string): Promise<void> => {
    let statusCode: number;
    let retryAfter: string | string[] | undefined;
    try {
      const res = await request(target.url, {
        method: 'POST',
        dispatcher: agent,
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'toolgate-reviewer',
          ...signWebhook(target.secret, { id, timestamp: Math.floor(Date.now() / 1000), body }),
        },
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), closing.signal]),
      });
      await res.body.dump();
      statusCode = res.statusCode;
      retryAfter = res.headers['retry-after'];
    } catch (error) {
      metrics.webhookDeliveries.inc({ result: closed ? 'aborted' : 'network_error' });
      throw new ReviewerError(ErrorCodes.REVIEWER_UNREACHABLE, `webhook ${target.url} unreachable`, { cause: error });
    }
    if (statusCode >= 200 && statusCode < 300) {
      metrics.webhookDeliveries.inc({ result: 'delivered' });
      return;
    }
    metrics.webhookDeliveries.inc({ result: `http_${statusCode}` });
    const wait = parseRetryAfter(retryAfter);
    const extra = wait !== undefined ? { retryAfterMs: Math.min(wait, maxDelayMs) } : {};
    if (statusCode === 429 || statusCode === 408) {
      throw new ReviewerError(ErrorCodes.REVIEWER_RATE_LIMITED, `webhook ${target.url} answered ${statusCode}`, { status: statusCode, ...extra });
    }
    throw new ReviewerError(ErrorCodes.REVIEWER_HTTP_ERROR, `webhook ${target.url} answered ${statusCode}`, { status: statusCode, ...extra });
  };

  const deliver = async (target: WebhookTarget, id: string, body: string): Promise<void> => {
    try {
      await withRetry(() => attempt(target, id, body), { signal: closing.signal, deadline: Date.now() + DELIVERY_WINDOW_MS }, { maxAttempts: attempts, baseDelayMs, maxDelayMs });
    } catch {
      metrics.webhookDeliveries.inc({ result: 'gave_up' });
    }
  };

  return {
    get active() {
      return !closed && targets.length > 0;
    },
    emit(type, data) {
      if (closed || targets.length === 0) return;
      const id = `msg_${randomUUID().replaceAll('-', '')}`;
      const body = JSON.stringify({ id, type, createdAt: new Date().toISOString(), data });
      for (const target of targets) {
        if (inflight.size >= maxQueue) {
          metrics.webhookDeliveries.inc({ result: 'dropped' });
          continue;
        }
        const p: Promise<void> = Promise.resolve()
          .then(() => deliver(target, id, body))
          .finally(() => inflight.delete(p));
        inflight.add(p);
      }
    },
    close() {
      if (!closedPromise) {
        closed = true;
        closing.abort();
        closedPromise = Promise.allSettled([...inflight]).then(() => agent?.close());
      }
      return closedPromise;
    },
  };
}
