import type { ForwardBackend } from '../engine/ForwardBackend.ts';
import { DeviceLostError } from '../errors.ts';
import type { Draft, DraftRequest, Drafter } from './Drafter.ts';
import { DraftModelDrafter } from './DraftModelDrafter.ts';

/** A drafter over one backend, and whether that backend's device was lost. */
interface OnDevice {
  drafter: DraftModelDrafter;
  lost: boolean;
}

/**
 * A draft model on a GPU device of its own, rebuilt when that device is lost. The engine's
 * DeviceRecovery rebuilds only the target's device; a driver reset or a crashed GPU process
 * takes the draft's device too, and then every draft forward fails: the drafter would draft
 * nothing, step after step, for the rest of the engine's life. So the draft's backend is
 * watched: a forward that fails with DeviceLostError starts a rebuild (`rebuild`: a new device,
 * the weights again from the same source, in a browser its IndexedDB copy). Until it is done,
 * drafts are empty and requests decode plainly (the target verifies everything anyway). A
 * rebuild that fails turns drafting with the model off, with one warning; the engine goes on.
 */
export class RecoveringDraft implements Drafter {
  readonly method = 'draft' as const;
  /** Devices the draft model lost so far. */
  losses = 0;
  /** The rebuild under way, if any; it never rejects. */
  rebuilding: Promise<void> | null = null;
  private current: OnDevice | null;
  private off = false;

  constructor(
    backend: ForwardBackend,
    private readonly rebuild: () => Promise<ForwardBackend>,
    private readonly onWarning?: (message: string) => void,
  ) {
    this.current = this.onDevice(backend);
  }

  /** Whether drafting with the model stopped for good (a rebuild failed, or disposed). */
  get stopped(): boolean {
    return this.off;
  }

  async propose(requests: readonly DraftRequest[]): Promise<Draft[]> {
    const now = this.current;
    if (!now) return requests.map((r) => ({ tokens: [], probs: r.sampling ? [] : null }));
    const drafts = await now.drafter.propose(requests);
    if (now.lost && now === this.current) this.begin(now);
    return drafts;
  }

  release(seqId: string): void {
    this.current?.drafter.release(seqId);
  }

  dispose(): void {
    this.off = true;
    this.current?.drafter.dispose();
    this.current = null;
  }

  private onDevice(backend: ForwardBackend): OnDevice {
    const state = { lost: false } as OnDevice;
    const watched = watchLoss(backend, () => (state.lost = true));
    state.drafter = new DraftModelDrafter(watched, {
      // Its own "failed" warning would tell of a loss in vaguer words: begin() tells of it.
      onWarning: (m) => {
        if (!state.lost) this.onWarning?.(m);
      },
    });
    return state;
  }

  private begin(lost: OnDevice): void {
    this.current = null;
    this.losses++;
    try {
      lost.drafter.dispose();
    } catch {
      // Its device is gone already.
    }
    this.onWarning?.("speculative decoding: the draft model's GPU device was lost; recreating it and reloading its weights (requests decode without drafts meanwhile)");
    this.rebuilding = this.rebuild()
      .then((backend) => {
        if (this.off) backend.dispose(); // disposed meanwhile
        else this.current = this.onDevice(backend);
      })
      .catch((e: unknown) => {
        this.off = true;
        this.onWarning?.(`speculative decoding: the draft model's GPU device could not be recreated (${e instanceof Error ? e.message : String(e)}); requests with method 'draft' now decode without drafts`);
      })
      .finally(() => (this.rebuilding = null));
  }
}

/** `backend`, telling `onLost` of a call that failed because its device was lost. */
function watchLoss(backend: ForwardBackend, onLost: () => void): ForwardBackend {
  const watched = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (e) {
      if (e instanceof DeviceLostError) onLost();
      throw e;
    }
  };
  const greedy = backend.forwardGreedy?.bind(backend);
  return {
    name: backend.name,
    config: backend.config,
    blockSize: backend.blockSize,
    numBlocks: backend.numBlocks,
    forward: (batch) => watched(() => backend.forward(batch)),
    ...(greedy ? { forwardGreedy: (batch: Parameters<typeof greedy>[0]) => watched(() => greedy(batch)) } : {}),
    copyBlocks: (pairs) => watched(() => backend.copyBlocks(pairs)),
    dispose: () => backend.dispose(),
  };
}
