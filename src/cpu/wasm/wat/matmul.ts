/**
 * WebAssembly text of the batched matmul, one function per weight format: y[b, r] = sum_c W[r, c] * x[b, c]
 * for rows r in [r0, r1) and all n activation rows b.
 *
 * Register-blocked: a tile is R weight rows x B activation rows with one accumulator per pair, walked
 * one 4-column vector at a time (one group of 2 or 4 vectors for the packed formats). Each weight
 * vector is decoded (loaded, or dequantized in registers) once and used for B activation rows; each
 * activation vector is loaded once and used for R weight rows; only the R x B accumulators, R decoded
 * vectors and their format's temporaries stay live, which fits x64's 16 SIMD registers. (The earlier
 * kernel decoded a whole block into registers before using it and spilled: 4 activation rows per
 * weight read ran no faster than 1.) Tiles: see QUAD.
 *
 * Weight layout (rowQuads.ts, made at load by placeQuads.ts): rows come in quads, rows 4q .. 4q + 3 interleaved by units (a unit: a
 * vector of 4 columns for f32 and f16, a block for the packed formats): unit u of row 4q + i is at
 * w + 4q * rowBytes + (4u + i) * unitBytes. So a tile over a quad reads one sequential stream: the
 * hardware prefetcher follows one stream; walking 4 row-major rows at once streamed from memory at
 * half the bandwidth of walking one (measured on an EPYC). Rows past the last whole quad stay
 * row-major after the quads.
 *
 * Signature (all i32 byte addresses into the one memory):
 *   matmul_<fmt>(w, rowBytes, x, y, rows, cols, n, r0, r1)
 *   w: the tensor in the layout above, rowBytes: bytes of one row's units (ggml's row size, src/quant/formats.ts)
 *   x: n rows of cols f32, back to back; y: n rows of `rows` f32 (rows is y's stride and the tensor's
 *   row count, so that a worker given [r0, r1) writes only its columns of y; shares aligned to quads
 *   run fastest, any r0 is correct).
 * Assumptions: cols % 4 == 0 (f32, f16), cols % 32 == 0 (q8_0, q4_0: whole blocks).
 * Sum order: every (r, b) pair accumulates in 4 f32 lanes, vectors in the format's fixed order, then
 * lanes (0 + 1) + (2 + 3), whatever tile it falls in: results do not depend on the number of
 * activation rows in a step, on the split of rows across threads, or on which tile shape ran. The
 * TypeScript oracle accumulates in f64, hence the tolerance the tests allow.
 * Packed weights are dequantized in registers exactly as src/quant does (d * q is exact in f32), then
 * multiplied as f32; f16 scales come from the 65536-entry table at `f16tab` (a param of the module's
 * `f16tab` global).
 */

export type KernelFormat = 'f32' | 'f16' | 'q8_0' | 'q4_0';

interface Decoder {
  /** Bytes before a block's groups (its f16 scale), read by `prelude`. A block (one 4-column vector for f32 and f16) is a unit of the layout; cols are whole blocks. */
  headerBytes: number;
  /**
   * A block is `groups` groups of `groupBytes` bytes, walked by an inner loop (not unrolled: V8's
   * scheduler hoisted the loads of an unrolled block and spilled); each group makes `xOffsets.length`
   * vectors, vector j multiplying the activations at xo + xOffsets[j]; xo advances by `groupX` per
   * group and by `blockXExtra` more after the block.
   */
  groups: number;
  groupBytes: number;
  groupX: number;
  blockXExtra: number;
  xOffsets: number[];
  /**
   * The tile while 4 activation rows are left: 2 x 4, or 1 x 4 where V8 spilled 2 x 4's accumulators
   * (q8_0: measured 12.5-13.5 against 11.4-12 GMAC/s; q4_0 the other way round, 11.4-12 against 5.5-8).
   */
  fullR: 1 | 2;
  /** Per-row vector temporaries the decoder uses besides $w<i> (named `${name}<i>`). */
  temps: string[];
  /** Code run once per block for row i, whose block is at $wq + off, before its groups: the block scale. */
  prelude(i: number, off: number): string;
  /**
   * Sets $w<i> to vector j of row i's group, which is at `ptr` + off (off includes headerBytes);
   * vectors are asked for in ascending j.
   */
  vector(i: number, j: number, ptr: string, off: number): string;
}

const splat = (v: number): string => `(v128.const i32x4 ${v} ${v} ${v} ${v})`;

/**
 * Four f16 (zero-extended to u32 lanes, in $u<i>) to f32 in $w<i>: shift exponent and mantissa into
 * place and multiply by 2^112, which is exact for normals and subnormals; exponent 31 (inf, NaN) is
 * selected separately; then the sign.
 */
const half4 = (i: number): string => `
  (local.set $h${i} (i32x4.shl (v128.and (local.get $u${i}) ${splat(0x7fff)}) (i32.const 13)))
  (local.set $w${i} (v128.bitselect
    (v128.or (local.get $h${i}) ${splat(0x7f800000)})
    (f32x4.mul (local.get $h${i}) (v128.const f32x4 0x1p112 0x1p112 0x1p112 0x1p112))
    (i32x4.eq (v128.and (local.get $u${i}) ${splat(0x7c00)}) ${splat(0x7c00)})))
  (local.set $w${i} (v128.or (local.get $w${i}) (i32x4.shl (v128.and (local.get $u${i}) ${splat(0x8000)}) (i32.const 16))))`;

/** The block's f16 scale d of row i, splatted into $d<i>. */
const scale = (i: number, off: number): string => `
  (local.set $d${i} (f32x4.splat (f32.load (i32.add (global.get $f16tab) (i32.shl (i32.load16_u offset=${off} (local.get $wq)) (i32.const 2))))))`;

/** $w<i> = d * (the low or high four i16 lanes of $h<i>, as f32). */
const scaledHalf = (i: number, half: 'low' | 'high'): string =>
  `(local.set $w${i} (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_${half}_i16x8_s (local.get $h${i}))) (local.get $d${i})))`;

const DECODERS: Record<KernelFormat, Decoder> = {
  f32: {
    headerBytes: 0,
    groups: 1,
    groupBytes: 16,
    groupX: 16,
    blockXExtra: 0,
    xOffsets: [0],
    fullR: 2,
    temps: [],
    prelude: () => '',
    vector: (i, _j, ptr, off) => `(local.set $w${i} (v128.load offset=${off} align=4 (local.get ${ptr})))`,
  },
  f16: {
    headerBytes: 0,
    groups: 1,
    groupBytes: 8,
    groupX: 16,
    blockXExtra: 0,
    xOffsets: [0],
    fullR: 2,
    temps: ['$u', '$h'],
    prelude: () => '',
    vector: (i, _j, ptr, off) => `(local.set $u${i} (v128.load16x4_u offset=${off} align=2 (local.get ${ptr})))${half4(i)}`,
  },
  // Q8_0, 34 bytes: f16 d, then 32 int8; y[j] = d * q[j]. A group: eight int8 widened to i16 lanes in
  // $h by one load, which make two vectors.
  q8_0: {
    headerBytes: 2,
    groups: 4,
    groupBytes: 8,
    groupX: 32,
    blockXExtra: 0,
    xOffsets: [0, 16],
    fullR: 1,
    temps: ['$d', '$h'],
    prelude: scale,
    vector: (i, j, ptr, off) => (j === 0 ? `(local.set $h${i} (v128.load8x8_s offset=${off} align=1 (local.get ${ptr})))\n  ${scaledHalf(i, 'low')}` : scaledHalf(i, 'high')),
  },
  // Q4_0, 18 bytes: f16 d, then 16 bytes; element j < 16 is the low nibble of byte j, j + 16 its high
  // nibble; y[j] = d * (nibble - 8). A group: eight bytes widened to u16 lanes; their low nibbles
  // less 8 are elements 8g .. 8g + 7 (two vectors), their high nibbles elements 16 + 8g .. (two more).
  q4_0: {
    headerBytes: 2,
    groups: 2,
    groupBytes: 8,
    groupX: 32,
    blockXExtra: 64,
    xOffsets: [0, 16, 64, 80],
    fullR: 2,
    temps: ['$d', '$h'],
    prelude: scale,
    vector: (i, j, ptr, off) => {
      if (j % 2 === 1) return scaledHalf(i, 'high');
      const bytes = `(v128.load8x8_u offset=${off} align=1 (local.get ${ptr}))`;
      const nibbles = j === 0 ? `(v128.and ${bytes} (v128.const i16x8 15 15 15 15 15 15 15 15))` : `(i16x8.shr_u ${bytes} (i32.const 4))`;
      return `(local.set $h${i} (i16x8.sub ${nibbles} (v128.const i16x8 8 8 8 8 8 8 8 8)))\n  ${scaledHalf(i, 'low')}`;
    },
  },
};

const hsum = (v: string): string =>
  `(f32.add (f32.add (f32x4.extract_lane 0 ${v}) (f32x4.extract_lane 1 ${v})) (f32.add (f32x4.extract_lane 2 ${v}) (f32x4.extract_lane 3 ${v})))`;

/**
 * acc += w * x. Plain SIMD: a multiply, then an add (two roundings). Relaxed SIMD: f32x4.relaxed_madd,
 * which an engine may fuse (one rounding) or not; either way a pair's sum is within the tolerance of
 * the f64 oracle, and the same pair gives the same sum in every tile (same instruction, same order).
 */
const madd = (acc: string, w: string, x: string, relaxed: boolean): string =>
  relaxed ? `(local.set ${acc} (f32x4.relaxed_madd (local.get ${w}) (local.get ${x}) (local.get ${acc})))` : `(local.set ${acc} (f32x4.add (local.get ${acc}) (f32x4.mul (local.get ${w}) (local.get ${x}))))`;

/** Tile shapes: weight rows x activation rows. */
interface Shape {
  R: number;
  B: number;
}

/** Tile shapes: weight rows x activation rows. */
interface Shape {
  R: number;
  B: number;
}

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

/** Bytes of one unit (see the layout above): a vector's for f32 and f16, a block's for the packed formats. */
export function unitBytes(format: KernelFormat): number {
  const d = DECODERS[format];
  return d.headerBytes + d.groups * d.groupBytes;
}

/**
 * R weight rows from $r + dr against B activation rows from $b, leaving the dot products in y. One
 * pointer, $wq, walks the tile's blocks: row $r + dr + i's block is at $wq + (dr + i) * unit (its
 * first at $wbase + ...), and the next block $step bytes on (4 units inside a quad, 1 in the
 * row-major rows after them); one pointer to advance, not one per row.
 */
function tile(d: Decoder, shape: Shape, dr: number, relaxed: boolean): string {
  const { R, B } = shape;
  const unit = d.headerBytes + d.groups * d.groupBytes;
  const rowOff = (i: number): number => (i + dr) * unit;
  const pairs: [number, number][] = [];
  for (let i = 0; i < R; i++) for (let b = 0; b < B; b++) pairs.push([i, b]);
  const stores = pairs.map(([i, b]) => `
  (f32.store (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (i32.add (local.get $b) (i32.const ${b})) (local.get $rows)) (i32.add (local.get $r) (i32.const ${i + dr}))) (i32.const 2))) ${hsum(`(local.get $acc${i}_${b})`)})`);
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
  ${pairs.map(([i, b]) => `(local.set $acc${i}_${b} (v128.const i32x4 0 0 0 0))`).join(' ')}
  ${Array.from({ length: B }, (_, b) => `(local.set $x${b} (i32.add (local.get $x) (i32.mul (i32.add (local.get $b) (i32.const ${b})) (local.get $xRowBytes))))`).join('\n  ')}
  (local.set $wq (local.get $wbase))
  (local.set $xo (i32.const 0))
  (block $blocksDone (loop $blocks
    (br_if $blocksDone (i32.ge_u (local.get $xo) (local.get $xRowBytes)))
    ${prelude}
    ${groups}
    (local.set $wq (i32.add (local.get $wq) (local.get $step)))
    ${d.blockXExtra === 0 ? '' : `(local.set $xo (i32.add (local.get $xo) (i32.const ${d.blockXExtra})))`}
    (br $blocks)))
  ${stores.join('')}`;
}

/**
 * How a quad of weight rows meets the activation rows: tiles of 2 x 4 while 4 are left (8
 * accumulators; each weight vector used 4 times, each activation vector twice; 1 x 4 for q8_0, see
 * Decoder.fullR), then for the 1 to 3 left 4 x 1 (a single stream's decode: 4 independent
 * multiply-add chains hide their latency), 4 x 2 or 2 x 3. A tile with more accumulators spills on
 * x64's 16 SIMD registers. A lone row (before the first whole quad of a share, or after the last)
 * runs 1 x 4 and 1 x 1..3.
 */
const QUAD = 4;
const FULL_B = 4;
const REST: Record<number, Shape> = { 1: { R: 4, B: 1 }, 2: { R: 4, B: 2 }, 3: { R: 2, B: 3 } };

/** Activation rows $b .. $b + shape.B - 1 against weight rows $r .. $r + rowsHere - 1, in tiles of `shape`. */
function across(d: Decoder, shape: Shape, rowsHere: number, relaxed: boolean): string {
  const out: string[] = [];
  for (let dr = 0; dr < rowsHere; dr += shape.R) out.push(tile(d, { R: Math.min(shape.R, rowsHere - dr), B: shape.B }, dr, relaxed));
  return out.join('\n');
}

/** Weight rows $r .. $r + rowsHere - 1 (a quad, or one row) against all n activation rows. */
function columns(d: Decoder, rowsHere: number, relaxed: boolean, label: string): string {
  const rests = [1, 2, 3].map((rest) => `(if (i32.eq (i32.sub (local.get $n) (local.get $b)) (i32.const ${rest})) (then ${across(d, REST[rest], rowsHere, relaxed)}))`).join('\n    ');
  return `
    (local.set $b (i32.const 0))
    (block $${label}Done (loop $${label}
      (br_if $${label}Done (i32.gt_u (i32.add (local.get $b) (i32.const ${FULL_B})) (local.get $n)))
      ${across(d, { R: d.fullR, B: FULL_B }, rowsHere, relaxed)}
      (local.set $b (i32.add (local.get $b) (i32.const ${FULL_B})))
      (br $${label})))
    ${rests}`;
}

export function matmulWat(format: KernelFormat, relaxed = false): string {
  const d = DECODERS[format];
  const unit = unitBytes(format);
  const vectorLocals = ['$xv'];
  for (let i = 0; i < QUAD; i++) {
    vectorLocals.push(`$w${i}`, ...d.temps.map((t) => `${t}${i}`));
    for (let b = 0; b < FULL_B; b++) vectorLocals.push(`$acc${i}_${b}`);
  }
  // One row: where its first unit is, and the gap between its units.
  const lone = (label: string): string => `
    (if (i32.lt_u (local.get $r) (local.get $quadRows))
      (then
        (local.set $wbase (i32.add (local.get $w) (i32.add (i32.mul (i32.and (local.get $r) (i32.const -4)) (local.get $rowBytes)) (i32.mul (i32.and (local.get $r) (i32.const 3)) (i32.const ${unit})))))
        (local.set $step (i32.const ${4 * unit})))
      (else
        (local.set $wbase (i32.add (local.get $w) (i32.mul (local.get $r) (local.get $rowBytes))))
        (local.set $step (i32.const ${unit}))))
    ${columns(d, 1, relaxed, label)}`;
  return `
(func $matmul_${format} (export "matmul_${format}")
  (param $w i32) (param $rowBytes i32) (param $x i32) (param $y i32) (param $rows i32) (param $cols i32) (param $n i32) (param $r0 i32) (param $r1 i32)
  (local $r i32) (local $b i32) (local $g i32) (local $xo i32) (local $xRowBytes i32) (local $quadRows i32) (local $wbase i32) (local $step i32) (local $wq i32) (local $wg i32)
  ${Array.from({ length: FULL_B }, (_, b) => `(local $x${b} i32)`).join(' ')}
  ${vectorLocals.map((l) => `(local ${l} v128)`).join(' ')}
  (local.set $xRowBytes (i32.shl (local.get $cols) (i32.const 2)))
  (local.set $quadRows (i32.and (local.get $rows) (i32.const -4)))
  (local.set $r (local.get $r0))
  ;; rows before this share's first whole quad, one at a time
  (block $leadDone (loop $lead
    (br_if $leadDone (i32.ge_u (local.get $r) (local.get $r1)))
    (br_if $leadDone (i32.eqz (i32.and (local.get $r) (i32.const 3))))
    ${lone('leadCols')}
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $lead)))
  (local.set $step (i32.const ${4 * unit}))
  (block $quadsDone (loop $quads
    (br_if $quadsDone (i32.gt_u (i32.add (local.get $r) (i32.const ${QUAD})) (local.get $r1)))
    (br_if $quadsDone (i32.gt_u (i32.add (local.get $r) (i32.const ${QUAD})) (local.get $quadRows)))
    (local.set $wbase (i32.add (local.get $w) (i32.mul (local.get $r) (local.get $rowBytes))))
    ${columns(d, QUAD, relaxed, 'quadCols')}
    (local.set $r (i32.add (local.get $r) (i32.const ${QUAD})))
    (br $quads)))
  ;; rows after: a share's end inside a quad, or the row-major rows past the last quad
  (block $tailDone (loop $tail
    (br_if $tailDone (i32.ge_u (local.get $r) (local.get $r1)))
    ${lone('tailCols')}
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $tail))))
`;
}
