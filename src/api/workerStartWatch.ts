import { ContentSecurityPolicyError, EngineClosedError, type FolioError } from '../errors.ts';

/** What to add to worker-src for a blocked worker script: blob: for folio.js, else its origin. */
function sourceToAllow(blockedUri: string): string {
  if (blockedUri === 'blob' || blockedUri.startsWith('blob:')) return 'blob:';
  if (blockedUri === 'data' || blockedUri.startsWith('data:')) return 'data:';
  try {
    return new URL(blockedUri).origin === globalThis.location?.origin ? "'self'" : new URL(blockedUri).origin;
  } catch {
    return blockedUri;
  }
}

/**
 * Until stopped, turns a worker that cannot start into a typed error: a Content Security Policy
 * that blocks it (the browser only fires a bare `error` event at the worker, and a
 * `securitypolicyviolation` event at the page, which names the directive), or a script that
 * failed to load or threw. Returns the function that stops watching.
 */
export function watchWorkerStart(worker: Worker, fail: (error: FolioError) => void): () => void {
  let violation: SecurityPolicyViolationEvent | null = null;
  const onViolation = (e: SecurityPolicyViolationEvent) => {
    // CSP3 reports a worker's script as worker-src even when the policy falls back to
    // child-src, script-src or default-src (those show as violatedDirective).
    if (e.effectiveDirective === 'worker-src') violation ??= e;
  };
  const decide = (message: string) => {
    if (violation) {
      const allow = sourceToAllow(violation.blockedURI);
      fail(new ContentSecurityPolicyError(
        'worker-src',
        `the page's Content Security Policy blocked Folio's engine worker (directive "${violation.violatedDirective}"): add ${allow} to worker-src, e.g. "worker-src ${allow}"`,
      ));
    } else {
      fail(new EngineClosedError('worker-stopped', `the engine worker could not start: ${message || 'its script failed to load'}`));
    }
  };
  const onError = (e: Event) => {
    const message = e instanceof ErrorEvent ? e.message : '';
    // The violation event is queued beside the error event; give it a task to arrive.
    if (violation) decide(message);
    else setTimeout(() => decide(message), 0);
  };
  globalThis.addEventListener?.('securitypolicyviolation', onViolation as EventListener);
  worker.addEventListener('error', onError);
  return () => {
    globalThis.removeEventListener?.('securitypolicyviolation', onViolation as EventListener);
    worker.removeEventListener('error', onError);
  };
}
