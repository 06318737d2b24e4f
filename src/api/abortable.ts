import { AbortError } from '../errors.ts';

/**
 * `pending`, or a rejection with Folio's AbortError as soon as `signal` aborts (at once if it
 * has): a caller's abort must not wait for the worker to answer.
 */
export function abortable<T>(pending: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return pending;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError());
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    pending.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
