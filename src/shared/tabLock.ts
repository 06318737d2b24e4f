/** A Web Lock this tab holds until released: the SharedWorker, queued for it, learns when the tab is gone. */
export interface TabLock {
  name: string;
  release(): void;
}

/** Holds the lock `name` (resolves once held); null without Web Locks (insecure contexts). */
export function holdTabLock(name: string): Promise<TabLock | null> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return Promise.resolve(null);
  return new Promise((held) => {
    void locks.request(name, () => new Promise<void>((release) => held({ name, release: () => release() })));
  });
}
