/**
 * The register tiles of the matmul kernels (matmul.ts): R weight rows x B activation rows with one
 * accumulator per pair, walked one 4-column vector at a time (one group of 2 or 4 vectors for the
 * packed formats). Each weight vector is decoded (loaded, or dequantized in registers) once and used
 * for B activation rows; each activation vector is loaded once and used for R weight rows; only the
 * R x B accumulators, R decoded vectors and their format's temporaries stay live, which fits x64's 16
 * SIMD registers. (A kernel that decoded a whole block into registers before using it spilled: 4
 * activation rows per weight read ran no faster than 1.)
 *
 * A tile runs whole (all columns: accumulators start at 0, their sums go to y) or over one chunk of
 * columns (chunked.ts: accumulators come from and go back to the scratch at $acs, so a pair's lanes
 * add the same vectors in the same order as a whole tile would: chunking never changes a result).
 */
import type { Decoder } from './decoders.ts';

/** Tile shapes: weight rows x activation rows. */
export interface Shape {
  R: number;
  B: number;
}

/**
 * How a quad of weight rows meets the activation rows: tiles of FULL (2 x 4) while 4 are left (8
 * accumulators; each weight vector used 4 times, each activation vector twice; with 4 or more rows
 * the quad runs chunked, in f32), then for the 1 to 3 left 4 x 1 (a single stream's decode: 4
 * independent multiply-add chains hide their latency), 4 x 2 or 2 x 3. A tile with more accumulators
 * spills on x64's 16 SIMD registers (as 2 x 4 did with q8_0's dequantizing in registers: chunks
 * decode first). A lone row (before the first whole quad of a share, or after the last) runs 1 x 4
 * and 1 x 1..3.
 */
export const QUAD = 4;
const FULL: Shape = { R: 2, B: 4 };
export const FULL_B = FULL.B;
const REST: Record<number, Shape> = { 1: { R: 4, B: 1 }, 2: { R: 4, B: 2 }, 3: { R: 2, B: 3 } };

export const hsum = (v: string): string =>
  `(f32.add (f32.add (f32x4.extract_lane 0 ${v}) (f32x4.extract_lane 1 ${v})) (f32.add (f32x4.extract_lane 2 ${v}) (f32x4.extract_lane 3 ${v})))`;

/**
 * acc += w * x. Plain SIMD: a multiply, then an add (two roundings). Relaxed SIMD: f32x4.relaxed_madd,
 * which an engine may fuse (one rounding) or not; either way a pair's sum is within the tolerance of
 * the f64 oracle, and the same pair gives the same sum in every tile (same instruction, same order).
 */
const madd = (acc: string, w: string, x: string, relaxed: boolean): string =>
  relaxed ? `(local.set ${acc} (f32x4.relaxed_madd (local.get ${w}) (local.get ${x}) (local.get ${acc})))` : `(local.set ${acc} (f32x4.add (local.get ${acc}) (f32x4.mul (local.get ${w}) (local.get ${x}))))`;

/**
 * The vectors of one group for an R x B tile: per vector, decode R weight vectors, then per activation
 * row load its vector once and multiply-add it into that row's R accumulators.
 */
function group(d: Decoder, { R, B }: Shape, relaxed: boolean, ptr: string, rowOff: (i: number) => number): string {
  const out: string[] = [];
  d.xOffsets.forEach((xOffset, j) => {
    for (let i = 0; i < R; i++) out.push(d.vector(i, j, ptr, rowOff(i) + d.headerBytes));
    for (let b = 0; b < B; b++) {
      out.push(`(local.set $xv (v128.load offset=${xOffset} align=4 (i32.add (local.get $x${b}) (local.get $xo))))`);
      for (let i = 0; i < R; i++) out.push(madd(`$acc${i}_${b}`, `$w${i}`, '$xv', relaxed));
    }
  });
  return out.join('\n  ');
}

/**
 * R weight rows from $r + dr against B activation rows from $b. One pointer, $wq, walks the tile's
 * blocks: row $r + dr + i's block is at $wq + (dr + i) * unit, and the next block $step bytes on (4
 * units inside a quad, 1 in the row-major rows after them); one pointer to advance, not one per row.
 * Whole: from $wbase over all columns, sums stored in y. Chunked: from $tw over x bytes [$k0, $k1),
 * accumulators of pair (i, b) at $acs + (4b + i) * 16.
 */
export function tile(d: Decoder, shape: Shape, dr: number, relaxed: boolean, chunked: boolean): string {
  const { R, B } = shape;
  const rowOff = (i: number): number => (i + dr) * d.unitBytes;
  const pairs: [number, number][] = [];
  for (let i = 0; i < R; i++) for (let b = 0; b < B; b++) pairs.push([i, b]);
  const acc = (i: number, b: number): string => `offset=${(i + dr) * 16} (i32.add (local.get $acs) (i32.shl (i32.add (local.get $b) (i32.const ${b})) (i32.const 6)))`;
  const start = chunked
    ? pairs.map(([i, b]) => `(local.set $acc${i}_${b} (v128.load ${acc(i, b)}))`).join(' ')
    : pairs.map(([i, b]) => `(local.set $acc${i}_${b} (v128.const i32x4 0 0 0 0))`).join(' ');
  const end = chunked
    ? pairs.map(([i, b]) => `(v128.store ${acc(i, b)} (local.get $acc${i}_${b}))`).join(' ')
    : pairs
        .map(([i, b]) => `
  (f32.store (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (i32.add (local.get $b) (i32.const ${b})) (local.get $rows)) (i32.add (local.get $r) (i32.const ${i + dr}))) (i32.const 2))) ${hsum(`(local.get $acc${i}_${b})`)})`)
        .join('');
  const prelude = Array.from({ length: R }, (_, i) => d.prelude(i, rowOff(i))).join('\n  ');
  const groups =
    d.groups === 1
      ? `${group(d, shape, relaxed, '$wq', rowOff)}
    (local.set $xo (i32.add (local.get $xo) (i32.const ${d.groupX})))`
      : `(local.set $wg (local.get $wq))
    (local.set $g (i32.const ${d.groups}))
    (loop $groups
      ${group(d, shape, relaxed, '$wg', rowOff)}
      (local.set $wg (i32.add (local.get $wg) (i32.const ${d.groupBytes})))
      (local.set $xo (i32.add (local.get $xo) (i32.const ${d.groupX})))
      (local.set $g (i32.sub (local.get $g) (i32.const 1)))
      (br_if $groups (local.get $g)))`;
  return `
  ${start}
  ${Array.from({ length: B }, (_, b) => `(local.set $x${b} (i32.add (local.get $x) (i32.mul (i32.add (local.get $b) (i32.const ${b})) (local.get $xRowBytes))))`).join('\n  ')}
  (local.set $wq (local.get ${chunked ? '$tw' : '$wbase'}))
  (local.set $xo ${chunked ? '(local.get $k0)' : '(i32.const 0)'})
  (block $blocksDone (loop $blocks
    (br_if $blocksDone (i32.ge_u (local.get $xo) (local.get ${chunked ? '$k1' : '$xRowBytes'})))
    ${prelude}
    ${groups}
    (local.set $wq (i32.add (local.get $wq) (local.get $step)))
    (br $blocks)))
  ${end}`;
}

/** Activation rows $b .. $b + shape.B - 1 against weight rows $r .. $r + rowsHere - 1, in tiles of `shape`. */
export function across(d: Decoder, shape: Shape, rowsHere: number, relaxed: boolean, chunked = false): string {
  const out: string[] = [];
  for (let dr = 0; dr < rowsHere; dr += shape.R) out.push(tile(d, { R: Math.min(shape.R, rowsHere - dr), B: shape.B }, dr, relaxed, chunked));
  return out.join('\n');
}

/**
 * Activation rows $b .. n - 1 from $b = 0 against weight rows $r .. $r + rowsHere - 1, in FULL tiles
 * then one REST shape; `fewRows`: the caller knows n < 4, so the FULL loop is left out.
 */
export function columns(d: Decoder, rowsHere: number, relaxed: boolean, label: string, chunked = false, fewRows = false): string {
  const rests = [1, 2, 3].map((rest) => `(if (i32.eq (i32.sub (local.get $n) (local.get $b)) (i32.const ${rest})) (then ${across(d, REST[rest], rowsHere, relaxed, chunked)}))`).join('\n    ');
  const full = `
    (block $${label}Done (loop $${label}
      (br_if $${label}Done (i32.gt_u (i32.add (local.get $b) (i32.const ${FULL_B})) (local.get $n)))
      ${across(d, FULL, rowsHere, relaxed, chunked)}
      (local.set $b (i32.add (local.get $b) (i32.const ${FULL_B})))
      (br $${label})))`;
  return `
    (local.set $b (i32.const 0))${fewRows ? '' : full}
    ${rests}`;
}
