/**
 * Fires `onIdle` once when `reset()` has not been called for `ms` milliseconds (0: never): a
 * server that stops sending, without closing the connection, would otherwise hold a request
 * forever.
 */
export class Watchdog {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private done = false;
  fired = false;

  constructor(private readonly ms: number, private readonly onIdle: () => void) {
    this.reset();
  }

  reset(): void {
    if (this.done || this.ms <= 0) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fired = true;
      this.done = true;
      this.onIdle();
    }, this.ms);
  }

  stop(): void {
    this.done = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }
}
