import { ErrorCodes, ReviewerError } from '../errors';

/** A signal that aborts at `deadline` (epoch ms) or when `parent` aborts, whichever is first. */
export interface DeadlineScope {
  signal: AbortSignal;
  deadline: number;
  /** Clears the timer. Call when the scoped work is done. */
  dispose(): void;
}

/** Reason attached to a signal aborted by its deadline. */
export const DEADLINE_EXCEEDED = Symbol('toolgate.deadline');

export function deadlineScope(timeoutMs: number, parent?: AbortSignal, now = Date.now()): DeadlineScope {
  const controller = new AbortController();
  const deadline = now + timeoutMs;
  const onParentAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  const timer = setTimeout(() => controller.abort(DEADLINE_EXCEEDED), Math.max(0, timeoutMs));
  timer.unref?.();
  return {
    signal: controller.signal,
    deadline,
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

/** The ReviewerError for an aborted signal: timeout if the deadline fired, else aborted by the caller. */
export function abortError(signal: AbortSignal, what = 'review'): ReviewerError {
  if (signal.reason === DEADLINE_EXCEEDED) {
    return new ReviewerError(ErrorCodes.REVIEWER_TIMEOUT, `${what} did not finish before the gate's deadline (timeoutMs)`);
  }
  return new ReviewerError(ErrorCodes.REVIEWER_ABORTED, `${what} was cancelled by the caller`, {
    cause: signal.reason,
  });
}

/** Resolves after `ms`, or rejects with `abortError(signal)` as soon as the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `deadlineScope` for a call whose callee may never look at the signal (an in-process reviewer):
 * the AbortController is made the first time `signal` is read (already aborted, with the same
 * reason, if the deadline or the parent came first), and `race` rejects when the scope aborts
 * without an event listener on the signal. Creating a controller and adding and removing a
 * listener cost more than the policy decision itself on the gate's audited path (issue 13).
 */
export class LazyDeadlineScope {
  readonly deadline: number;
  aborted = false;
  private reason: unknown;
  private controller: AbortController | undefined;
  private onAbort: (() => void) | undefined;
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly parent: AbortSignal | undefined;
  private readonly onParentAbort: (() => void) | undefined;

  constructor(timeoutMs: number, parent?: AbortSignal, now = Date.now()) {
    this.deadline = now + timeoutMs;
    this.parent = parent;
    if (parent?.aborted) this.abort(parent.reason);
    else if (parent) {
      this.onParentAbort = () => this.abort(parent.reason);
      parent.addEventListener('abort', this.onParentAbort, { once: true });
    }
    this.timer = setTimeout(() => this.abort(DEADLINE_EXCEEDED), Math.max(0, timeoutMs));
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** The signal handed to the callee: made on first read. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  private abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    this.onAbort?.();
  }

  /** `work`, or `abortError(signal)` as soon as the scope aborts (even if the callee ignores it). */
  race<T>(work: Promise<T>, what?: string): Promise<T> {
    if (this.aborted) {
      work.catch(() => {});
      return Promise.reject(abortError(this.signal, what));
    }
    return new Promise<T>((resolve, reject) => {
      this.onAbort = () => reject(abortError(this.signal, what));
      work.then(
        (v) => {
          this.onAbort = undefined;
          resolve(v);
        },
        (e: unknown) => {
          this.onAbort = undefined;
          reject(e);
        },
      );
    });
  }

  /** Clears the timer and the parent listener. Call when the scoped work is done. */
  dispose(): void {
    clearTimeout(this.timer);
    if (this.onParentAbort) this.parent?.removeEventListener('abort', this.onParentAbort);
  }
}
