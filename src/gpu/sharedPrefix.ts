/**
 * Shared leading blocks of a step's decoding sequences (ChunkAttention's prefix tree, found
 * from the block tables alone): sequences whose tables start with the same block ids hold the
 * same K and V there (one physical copy, shared by the prefix cache or by n > 1 forks), so
 * attention over those blocks can read them once for all of their queries.
 *
 * Pure: no WebGPU, tested in Node (test/gpu/sharedPrefix.test.ts).
 */

/** A run of blocks [start, end) of the tables that every row in `rows` holds, in the same ids. */
export interface SharedSegment {
  rows: number[];
  start: number;
  end: number;
}

export interface SharedPrefixes {
  /** Outer segments before the ones nested in them (a segment's rows share all blocks before it too). */
  segments: SharedSegment[];
  /** Per row, the first block not covered by a segment it belongs to (0: none). */
  tailStart: number[];
}

/**
 * Finds the prefix tree of `tables` (each cut to the blocks its row may share: its full blocks
 * of attended keys). A segment needs at least `minRows` rows; every segment of a row is
 * contiguous with the one before it, so a row's keys are its segments, then its own tail.
 * Invariant (asserted in the tests): for each segment, every row in it has the same block id
 * at each index in [start, end), and end <= its table's length.
 */
export function findSharedPrefixes(tables: readonly (readonly number[] | Uint32Array)[], minRows = 2): SharedPrefixes {
  if (minRows < 2) throw new RangeError(`a shared prefix needs at least 2 rows, got ${minRows}`);
  const segments: SharedSegment[] = [];
  const tailStart = tables.map(() => 0);
  const walk = (rows: number[], depth: number) => {
    const byBlock = new Map<number, number[]>();
    for (const r of rows) {
      if (tables[r].length <= depth) continue;
      const id = tables[r][depth];
      const group = byBlock.get(id);
      if (group) group.push(r);
      else byBlock.set(id, [r]);
    }
    for (const group of byBlock.values()) {
      if (group.length < minRows) continue;
      let end = depth + 1;
      for (;;) {
        const first = tables[group[0]];
        if (end >= first.length) break;
        const id = first[end];
        if (!group.every((r) => tables[r].length > end && tables[r][end] === id)) break;
        end++;
      }
      segments.push({ rows: group, start: depth, end });
      for (const r of group) tailStart[r] = end;
      walk(group, end);
    }
  };
  walk(
    tables.map((_, i) => i),
    0,
  );
  return { segments, tailStart };
}
