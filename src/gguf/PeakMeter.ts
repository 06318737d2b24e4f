import type { LoadMeter } from '../model/loadModel.ts';

/** A LoadMeter that remembers the most bytes held at once (tests and the bench read `peak`). */
export class PeakMeter implements LoadMeter {
  held = 0;
  peak = 0;

  hold(bytes: number): void {
    this.held += bytes;
    if (this.held > this.peak) this.peak = this.held;
  }

  release(bytes: number): void {
    this.held -= bytes;
  }
}
