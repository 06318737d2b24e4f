/**
 * A terminated or crashed worker sends nothing, not even an event; but the Web Locks it held
 * are released. The worker holds a lock named for it, and the page queues for the same lock:
 * being granted it means the worker is gone. Without `navigator.locks` (insecure contexts),
 * neither side does anything.
 */

/** In the worker: takes the lock `name` for the worker's whole life; resolves once held. */
export function holdLock(name: string): Promise<boolean> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return Promise.resolve(false);
  return new Promise<boolean>((held) => {
    void locks.request(name, () => {
      held(true);
      return new Promise<never>(() => {});
    });
  });
}

/** On the page: calls `gone` when the worker holding `name` stops, unless `signal` aborts first. */
export function whenLockFreed(name: string, gone: () => void, signal: AbortSignal): void {
  void globalThis.navigator?.locks?.request(name, { signal }, () => gone()).catch(() => {});
}
