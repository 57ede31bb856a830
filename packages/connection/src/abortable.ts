/**
 * Lets a caller stop waiting for work that cannot itself be cancelled (an auth round trip, a
 * CONNECT): the returned promise rejects at once on abort, and `onLate` disposes of the result
 * if the work still succeeds afterwards, so nothing it opened is left behind.
 */
import { ErrorCodes, TandemError } from '@tandem/common';

/** The error an aborted wait rejects with. */
export function cancelled(): TandemError {
  return new TandemError(ErrorCodes.GATEWAY_UNREACHABLE, 'cancelled');
}

function reasonOf(signal: AbortSignal): TandemError {
  return signal.reason instanceof TandemError ? signal.reason : cancelled();
}

/**
 * `work`, or a rejection as soon as `signal` aborts (with the signal's reason when it is a
 * TandemError, such as a deadline's, else `cancelled`); a late result goes to `onLate`.
 */
export function abortable<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  onLate: (value: T) => void = () => {},
): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.then(onLate, () => {});
    return Promise.reject(reasonOf(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reasonOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work
      .then((value) => (signal.aborted ? onLate(value) : resolve(value)), reject)
      .finally(() => signal.removeEventListener('abort', onAbort));
  });
}
