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
