/**
 * What a step costs on this backend and machine, learned from the steps the engine runs: wall
 * milliseconds of a whole step (drafting, forward, verification, streaming) by its number of
 * token rows, kept apart for steps in which a draft model ran (its forwards are in the step).
 * Speculation reads it to choose draft lengths by what they earn over what they cost
 * (draftLength.ts): a CPU whose matmul is compute-bound past two rows and a GPU that reads the
 * weights once for many rows want very different k, and no constant suits both.
 */

/** 'draft' when the draft model ran in the step; 'plain' otherwise (no drafts, or n-gram lookup, which costs nothing next to a forward). */
export type StepKind = 'plain' | 'draft';

interface Entry {
  /** The last WINDOW observations' milliseconds, oldest first. */
  recent: number[];
  /** Their minimum: what the step costs when nothing else loads the machine (other load only ever adds). */
  ms: number;
  samples: number;
  /** The observation count when it was last updated. */
  at: number;
}

/** Observations an estimate keeps: enough to see past a burst of other load (seconds on a shared machine), few enough to follow a real change (a longer context). */
const WINDOW = 16;
/** Observations before an entry is trusted; until then it is assumed as cheap as the nearest trusted smaller step (explored). */
export const TRUSTED_SAMPLES = 2;
/** An entry not updated for this many steps is explored again: a figure measured under a passing load spike must not rule forever. */
export const STALE_AFTER = 64;

export class StepCost {
  private readonly tables: Record<StepKind, Map<number, Entry>> = { plain: new Map(), draft: new Map() };
  private count = 0;

  observe(kind: StepKind, rows: number, ms: number): void {
    if (!(rows >= 1) || !Number.isFinite(ms) || ms < 0) return;
    this.count++;
    const e = this.tables[kind].get(rows) ?? { recent: [], ms, samples: 0, at: 0 };
    this.tables[kind].set(rows, e);
    e.recent.push(ms);
    if (e.recent.length > WINDOW) e.recent.shift();
    e.ms = Math.min(...e.recent);
    e.samples++;
    e.at = this.count;
  }

  /**
   * The estimated milliseconds of a step of `rows` rows; null when nothing of this kind was
   * measured. A row count not trusted yet (too few samples, or stale) is estimated optimistically,
   * so that a chooser that maximizes tokens per millisecond tries it and measures it: as the
   * nearest trusted smaller step costs, else the nearest larger one scaled down in proportion
   * (a step's fixed costs make that a lower bound).
   */
  estimate(kind: StepKind, rows: number): number | null {
    const table = this.tables[kind];
    const e = table.get(rows);
    if (e && this.trusted(e)) return e.ms;
    let below: Entry | null = null;
    let belowRows = -Infinity;
    let above: Entry | null = null;
    let aboveRows = Infinity;
    for (const [r, x] of table) {
      if (!this.trusted(x)) continue;
      if (r < rows && r > belowRows) [below, belowRows] = [x, r];
      if (r > rows && r < aboveRows) [above, aboveRows] = [x, r];
    }
    if (below) return below.ms;
    return above ? (above.ms * rows) / aboveRows : null;
  }

  private trusted(e: Entry): boolean {
    return e.samples >= TRUSTED_SAMPLES && this.count - e.at < STALE_AFTER;
  }
}
