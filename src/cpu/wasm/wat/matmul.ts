/**
 * WebAssembly text of the batched matmul, one function per weight format: y[b, r] = sum_c W[r, c] * x[b, c]
 * for rows r in [r0, r1) and all n activation rows b. Each weight row is decoded into f32 registers once
 * per tile of 4 activation rows (and once for the 1 to 3 rows left), so a step reads every weight once
 * from memory whatever the number of sequences; the row stays in L1 between tiles.
 *
 * Signature (all i32 byte addresses into the one memory):
 *   matmul_<fmt>(w, rowBytes, x, y, rows, cols, n, r0, r1)
 *   w: row r starts at w + r * rowBytes, in the format's ggml layout (src/quant/formats.ts)
 *   x: n rows of cols f32, back to back; y: n rows of `rows` f32 (rows is y's stride, so that a worker
 *   given [r0, r1) writes only its columns of y).
 * Assumptions: cols % 4 == 0 (f32, f16), cols % 32 == 0 (q8_0, q4_0: whole blocks). Accumulation is f32
 * in 4 lanes x 2 accumulators per activation row, in the same order whichever tile the row is in; the
 * TypeScript oracle accumulates in f64, hence the tolerance the tests allow.
 * Packed weights are dequantized in registers exactly as src/quant does (d * q is exact in f32), then
 * multiplied as f32; f16 scales come from the 65536-entry table at `f16tab` (a param of the module's
 * `f16tab` global).
 */

export type KernelFormat = 'f32' | 'f16' | 'q8_0' | 'q4_0';

interface Decoder {
  /** Columns one main step decodes (one block for the packed formats). */
  chunkCols: number;
  chunkBytes: number;
  /** A 4-column step for the columns after the last whole chunk; null when cols are whole chunks. */
  tailBytes: number | null;
  /** Sets $w0..$w{chunkCols/4 - 1} from the bytes at $wp. */
  chunk: string;
  /** Sets $w0 from the 4 columns at $wp. */
  tail: string;
}

const splat = (v: number): string => `(v128.const i32x4 ${v} ${v} ${v} ${v})`;

/**
 * Four f16 (zero-extended to u32 lanes, in $u) to f32: shift exponent and mantissa into place and
 * multiply by 2^112, which is exact for normals and subnormals; exponent 31 (inf, NaN) is selected
 * separately; then the sign.
 */
const half4 = (target: string): string => `
  (local.set $h (i32x4.shl (v128.and (local.get $u) ${splat(0x7fff)}) (i32.const 13)))
  (local.set ${target} (v128.bitselect
    (v128.or (local.get $h) ${splat(0x7f800000)})
    (f32x4.mul (local.get $h) (v128.const f32x4 0x1p112 0x1p112 0x1p112 0x1p112))
    (i32x4.eq (v128.and (local.get $u) ${splat(0x7c00)}) ${splat(0x7c00)})))
  (local.set ${target} (v128.or (local.get ${target}) (i32x4.shl (v128.and (local.get $u) ${splat(0x8000)}) (i32.const 16))))`;

/** 16 signed bytes in $q to $w{first}..$w{first+3}, each times the block scale $d. */
const int8x16 = (first: number): string => {
  const lanes = (half: 'low' | 'high', a: number, b: number): string => `
  (local.set $h (i16x8.extend_${half}_i8x16_s (local.get $q)))
  (local.set $w${a} (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))) (local.get $d)))
  (local.set $w${b} (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))) (local.get $d)))`;
  return lanes('low', first, first + 1) + lanes('high', first + 2, first + 3);
};

/** The block's f16 scale d, splatted into $d. */
const scale = `
  (local.set $d (f32x4.splat (f32.load (i32.add (global.get $f16tab) (i32.shl (i32.load16_u (local.get $wp)) (i32.const 2))))))`;

const DECODERS: Record<KernelFormat, Decoder> = {
  f32: {
    chunkCols: 16,
    chunkBytes: 64,
    tailBytes: 16,
    chunk: [0, 1, 2, 3].map((j) => `(local.set $w${j} (v128.load offset=${16 * j} align=4 (local.get $wp)))`).join('\n'),
    tail: '(local.set $w0 (v128.load align=4 (local.get $wp)))',
  },
  f16: {
    chunkCols: 16,
    chunkBytes: 32,
    tailBytes: 8,
    chunk: [0, 1]
      .map((k) => `
  (local.set $q (v128.load offset=${16 * k} align=2 (local.get $wp)))
  (local.set $u (i32x4.extend_low_i16x8_u (local.get $q)))${half4(`$w${2 * k}`)}
  (local.set $u (i32x4.extend_high_i16x8_u (local.get $q)))${half4(`$w${2 * k + 1}`)}`)
      .join(''),
    tail: `
  (local.set $u (i32x4.extend_low_i16x8_u (v128.load64_zero align=2 (local.get $wp))))${half4('$w0')}`,
  },
  // Q8_0, 34 bytes: f16 d, then 32 int8; y[j] = d * q[j].
  q8_0: {
    chunkCols: 32,
    chunkBytes: 34,
    tailBytes: null,
    chunk: `${scale}
  (local.set $q (v128.load offset=2 align=1 (local.get $wp)))${int8x16(0)}
  (local.set $q (v128.load offset=18 align=1 (local.get $wp)))${int8x16(4)}`,
    tail: '',
  },
  // Q4_0, 18 bytes: f16 d, then 16 bytes; element j < 16 is the low nibble of byte j, j + 16 its high
  // nibble; y[j] = d * (nibble - 8).
  q4_0: {
    chunkCols: 32,
    chunkBytes: 18,
    tailBytes: null,
    chunk: `${scale}
  (local.set $u (v128.load offset=2 align=1 (local.get $wp)))
  (local.set $q (i8x16.sub (v128.and (local.get $u) (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15)) (v128.const i8x16 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8)))${int8x16(0)}
  (local.set $q (i8x16.sub (i8x16.shr_u (local.get $u) (i32.const 4)) (v128.const i8x16 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8)))${int8x16(4)}`,
    tail: '',
  },
};

const hsum = (v: string): string =>
  `(f32.add (f32.add (f32x4.extract_lane 0 ${v}) (f32x4.extract_lane 1 ${v})) (f32.add (f32x4.extract_lane 2 ${v}) (f32x4.extract_lane 3 ${v})))`;

/**
 * acc += w * x, as a WebAssembly expression statement. Plain SIMD: a multiply, then an add (two
 * roundings). Relaxed SIMD: f32x4.relaxed_madd, which an engine may fuse (one rounding) or not; either
 * way a row's sum is within the tolerance of the f64 oracle, and the same row gives the same sum in
 * every tile (the instruction and its order do not depend on the tile).
 */
const madd = (acc: string, w: string, xAddr: string, offset: number, relaxed: boolean): string => {
  const x = `(v128.load offset=${offset} align=4 ${xAddr})`;
  return relaxed ? `(local.set ${acc} (f32x4.relaxed_madd (local.get ${w}) ${x} (local.get ${acc})))` : `(local.set ${acc} (f32x4.add (local.get ${acc}) (f32x4.mul (local.get ${w}) ${x})))`;
};

/**
 * Activation rows that share one decode of a weight row: 4. A tile of 8 (16 accumulators) was
 * measured slower than two tiles of 4 on V8/x64 (spilled registers), and so was taking the rows
 * vector by vector; the weight row stays in L1 between tiles, so memory reads it once per step anyway.
 */
type TileRows = 1 | 2 | 3 | 4;

/** One weight row against `tileRows` activation rows from row $b, leaving the dot products in y. */
function tile(d: Decoder, tileRows: TileRows, relaxed: boolean): string {
  const vectors = d.chunkCols / 4;
  const x = (s: number): string => `(i32.add (local.get $x${s}) (local.get $xo))`;
  // Two accumulators per activation row, the same in both tiles: a row's sums do not depend on how
  // many other rows share the step (batch-invariant results), and two chains hide the add latency.
  const accOf = (s: number, j: number): string => `$acc${s}_${j % 2}`;
  const main: string[] = [];
  for (let s = 0; s < tileRows; s++) for (let j = 0; j < vectors; j++) main.push(madd(accOf(s, j), `$w${j}`, x(s), 16 * j, relaxed));
  const tail: string[] = [];
  for (let s = 0; s < tileRows; s++) tail.push(madd(`$acc${s}_0`, '$w0', x(s), 0, relaxed));
  const stores = Array.from({ length: tileRows }, (_, s) => `
  (local.set $u (f32x4.add (local.get $acc${s}_0) (local.get $acc${s}_1)))
  (f32.store (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (i32.add (local.get $b) (i32.const ${s})) (local.get $rows)) (local.get $r)) (i32.const 2))) ${hsum('(local.get $u)')})`).join('');
  return `
  ${Array.from({ length: tileRows }, (_, s) => `(local.set $acc${s}_0 (v128.const i32x4 0 0 0 0)) (local.set $acc${s}_1 (v128.const i32x4 0 0 0 0))`).join('\n')}
  ${Array.from({ length: tileRows }, (_, s) => `(local.set $x${s} (i32.add (local.get $x) (i32.mul (i32.add (local.get $b) (i32.const ${s})) (local.get $xRowBytes))))`).join('\n')}
  (local.set $wp (i32.add (local.get $w) (i32.mul (local.get $r) (local.get $rowBytes))))
  (local.set $xo (i32.const 0))
  (block $chunksDone (loop $chunks
    (br_if $chunksDone (i32.ge_u (local.get $xo) (local.get $mainEnd)))
    ${d.chunk}
    ${main.join('\n')}
    (local.set $wp (i32.add (local.get $wp) (i32.const ${d.chunkBytes})))
    (local.set $xo (i32.add (local.get $xo) (i32.const ${d.chunkCols * 4})))
    (br $chunks)))
  ${
    d.tailBytes === null
      ? ''
      : `(block $tailDone (loop $tail
    (br_if $tailDone (i32.ge_u (local.get $xo) (local.get $xRowBytes)))
    ${d.tail}
    ${tail.join('\n')}
    (local.set $wp (i32.add (local.get $wp) (i32.const ${d.tailBytes})))
    (local.set $xo (i32.add (local.get $xo) (i32.const 16)))
    (br $tail)))`
  }
  ${stores}`;
}

export function matmulWat(format: KernelFormat, relaxed = false): string {
  const d = DECODERS[format];
  const rowsUpTo = [0, 1, 2, 3];
  const vectorLocals = rowsUpTo.flatMap((s) => [`$acc${s}_0`, `$acc${s}_1`]).concat(['$q', '$h', '$u', '$d', ...Array.from({ length: d.chunkCols / 4 }, (_, j) => `$w${j}`)]);
  return `
(func $matmul_${format} (export "matmul_${format}")
  (param $w i32) (param $rowBytes i32) (param $x i32) (param $y i32) (param $rows i32) (param $cols i32) (param $n i32) (param $r0 i32) (param $r1 i32)
  (local $r i32) (local $b i32) (local $wp i32) (local $xo i32) (local $mainEnd i32) (local $xRowBytes i32)
  ${rowsUpTo.map((s) => `(local $x${s} i32)`).join(' ')}
  ${vectorLocals.map((l) => `(local ${l} v128)`).join(' ')}
  (local.set $xRowBytes (i32.shl (local.get $cols) (i32.const 2)))
  (local.set $mainEnd (i32.shl (i32.mul (i32.div_u (local.get $cols) (i32.const ${d.chunkCols})) (i32.const ${d.chunkCols})) (i32.const 2)))
  (local.set $r (local.get $r0))
  (block $rowsDone (loop $rowLoop
    (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $r1)))
    (local.set $b (i32.const 0))
    (block $tilesDone (loop $tiles
      (br_if $tilesDone (i32.gt_u (i32.add (local.get $b) (i32.const 4)) (local.get $n)))
      ${tile(d, 4, relaxed)}
      (local.set $b (i32.add (local.get $b) (i32.const 4)))
      (br $tiles)))
    ;; the 1 to 3 rows left: one tile of that many, so that the weight row is still decoded once
    (if (i32.eq (i32.sub (local.get $n) (local.get $b)) (i32.const 3)) (then ${tile(d, 3, relaxed)}))
    (if (i32.eq (i32.sub (local.get $n) (local.get $b)) (i32.const 2)) (then ${tile(d, 2, relaxed)}))
    (if (i32.eq (i32.sub (local.get $n) (local.get $b)) (i32.const 1)) (then ${tile(d, 1, relaxed)}))
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $rowLoop))))
`;
}
