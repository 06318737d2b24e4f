/**
 * Which pane a KV block's owner (an engine request id such as `req-7`) belongs to. The engine
 * names requests in the order their `create` calls arrive, and calls reach the worker in the
 * order they are made, so a request id seen for the first time belongs to the oldest pane
 * whose request has not been seen yet.
 */
export class OwnerTracker {
  private readonly pending: number[] = [];
  private readonly byOwner = new Map<string, number>();
  private highest = -1;

  /** A pane is about to call create(). */
  begin(pane: number): void {
    this.pending.push(pane);
  }

  /** A pane's request is over; if it was never seen in a map, it never will be. */
  end(pane: number): void {
    const i = this.pending.indexOf(pane);
    if (i >= 0) this.pending.splice(i, 1);
  }

  /** Assigns owners seen for the first time, oldest request first. */
  observe(owners: Iterable<string>): void {
    const fresh = [...new Set(owners)].filter((o) => !this.byOwner.has(o) && order(o) > this.highest).sort((a, b) => order(a) - order(b));
    for (const o of fresh) {
      const pane = this.pending.shift();
      if (pane === undefined) break;
      this.byOwner.set(o, pane);
      this.highest = Math.max(this.highest, order(o));
    }
  }

  paneOf(owner: string): number | undefined {
    return this.byOwner.get(owner);
  }
}

function order(owner: string): number {
  const m = /(\d+)$/.exec(owner);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}
