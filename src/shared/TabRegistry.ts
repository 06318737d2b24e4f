/** Starts a timer; returns the function that cancels it (setTimeout in the worker, a fake in tests). */
export type StartTimer = (fn: () => void, ms: number) => () => void;

export interface TabRegistryOptions {
  /** A tab silent this long is gone (its heartbeat stopped). */
  heartbeatTimeoutMs: number;
  /** With no tab left, the engine unloads after this long. */
  idleTimeoutMs: number;
  now: () => number;
  startTimer: StartTimer;
  /** No tab came back within the idle timeout. */
  onIdle: () => void;
}

interface Tab {
  label: string;
  requests: Set<string>;
  lastBeat: number;
}

/**
 * The tabs one shared engine serves, and which tab each running request belongs to. Kept
 * here, free of ports and workers, so that Node tests it.
 * Invariant: a request id belongs to at most one tab, and only while that tab is attached
 * (leave() hands back every request of the tab, to be aborted, and forgets them).
 */
export class TabRegistry {
  private readonly tabs = new Map<string, Tab>();
  private readonly owner = new Map<string, string>();
  private numbered = 0;
  private cancelIdle: (() => void) | null = null;

  constructor(private readonly opts: TabRegistryOptions) {
    this.touch();
  }

  get size(): number {
    return this.tabs.size;
  }

  /** Someone connected: the idle countdown, if running, starts again, giving them time to say hello. */
  touch(): void {
    this.cancelIdle?.();
    this.cancelIdle = null;
    if (this.tabs.size === 0) this.cancelIdle = this.opts.startTimer(() => this.opts.onIdle(), this.opts.idleTimeoutMs);
  }

  /** Adds a tab (once per id); returns its label, "tab N" in order of arrival. */
  attach(id: string): string {
    let tab = this.tabs.get(id);
    if (!tab) {
      tab = { label: `tab ${++this.numbered}`, requests: new Set(), lastBeat: this.opts.now() };
      this.tabs.set(id, tab);
    }
    this.cancelIdle?.();
    this.cancelIdle = null;
    return tab.label;
  }

  has(id: string): boolean {
    return this.tabs.has(id);
  }

  /** Tab `id`'s label; undefined once it has left. */
  labelOfTab(id: string): string | undefined {
    return this.tabs.get(id)?.label;
  }

  beat(id: string): void {
    const tab = this.tabs.get(id);
    if (tab) tab.lastBeat = this.opts.now();
  }

  /** `request` runs for tab `id`; false if the tab has left meanwhile (the caller aborts it). */
  own(id: string, request: string): boolean {
    const tab = this.tabs.get(id);
    if (!tab) return false;
    tab.requests.add(request);
    this.owner.set(request, id);
    return true;
  }

  /** The request ended. */
  release(request: string): void {
    const id = this.owner.get(request);
    if (id === undefined) return;
    this.owner.delete(request);
    this.tabs.get(id)?.requests.delete(request);
  }

  ownerOf(request: string): string | undefined {
    return this.owner.get(request);
  }

  /** The label of the tab running `request`, '' if none. */
  labelOf(request: string): string {
    const id = this.owner.get(request);
    return (id !== undefined && this.tabs.get(id)?.label) || '';
  }

  /** The tab is gone: returns its running requests (to abort); the last tab out starts the idle countdown. */
  leave(id: string): string[] {
    const tab = this.tabs.get(id);
    if (!tab) return [];
    this.tabs.delete(id);
    const requests = [...tab.requests];
    for (const r of requests) this.owner.delete(r);
    if (this.tabs.size === 0) this.touch();
    return requests;
  }

  /** Tabs whose heartbeat is older than the timeout. */
  silent(): string[] {
    const limit = this.opts.now() - this.opts.heartbeatTimeoutMs;
    return [...this.tabs].filter(([, t]) => t.lastBeat < limit).map(([id]) => id);
  }

  /** Every tab and its running requests; `you` marks tab `asking`. */
  summary(asking: string): { tab: string; requests: string[]; you: boolean }[] {
    return [...this.tabs].map(([id, t]) => ({ tab: t.label, requests: [...t.requests], you: id === asking }));
  }
}
