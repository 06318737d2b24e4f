import { DeviceLostError } from '../errors.ts';
import type { ForwardBackend } from './ForwardBackend.ts';

/**
 * What the engine does when its GPU device is lost (a driver reset, a GPU process crash, a
 * tab that slept): the step's requests have already failed with DeviceLostError; this builds
 * a new device side (a new device, weights uploaded again, empty KV pools) and hands it to
 * `install`, which gives the engine fresh KV bookkeeping: the old device's KV contents are
 * gone, so no prefix-cache hit may point at them. Requests that arrive meanwhile wait for
 * it. When it cannot be rebuilt (no adapter any more), every later request gets a
 * DeviceLostError that says what to do, at once.
 */
export class DeviceRecovery {
  /** Devices lost so far. */
  losses = 0;
  /** The rebuild under way; it never rejects. */
  pending: Promise<void> | null = null;
  private broken: DeviceLostError | null = null;

  constructor(
    private readonly rebuild: (() => Promise<ForwardBackend>) | undefined,
    private readonly onWarning: ((message: string) => void) | undefined,
    private readonly install: (backend: ForwardBackend) => void,
  ) {}

  /** Whether a step's error is a lost device that this recovers from. */
  handles(error: Error): error is DeviceLostError {
    return error instanceof DeviceLostError && this.rebuild !== undefined;
  }

  /** Drops the lost backend and starts building a new one. */
  begin(lost: ForwardBackend, error: DeviceLostError): void {
    this.losses++;
    try {
      lost.dispose();
    } catch {
      // Its device is gone already; nothing else to free.
    }
    this.onWarning?.(`${error.message.replace(/; reload the model to continue$/, '')}: recreating the device and reloading the weights`);
    this.pending = this.rebuild!()
      .then((backend) => this.install(backend))
      .catch((e: unknown) => {
        const why = e instanceof Error ? e.message : String(e);
        this.broken = new DeviceLostError(
          `the GPU device was lost and a new one could not be created (${why}); reload the page, or load the model with backend 'cpu'`,
        );
        this.onWarning?.(this.broken.message);
      })
      .finally(() => (this.pending = null));
  }

  /** Throws the typed error once the device could not be rebuilt. */
  check(): void {
    if (this.broken) throw this.broken;
  }

  /**
   * Waits out a rebuild, then throws if there is no device. It resolves a microtask or more
   * later, so a caller that adds to the scheduler next must check `pending` again with no
   * await in between: a rebuild swaps the scheduler.
   */
  async ready(): Promise<void> {
    while (this.pending) await this.pending;
    this.check();
  }
}
