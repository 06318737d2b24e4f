/**
 * How the matmul kernels (matmul.ts) read each weight format: a Decoder turns a block of a weight row
 * into f32 vectors of 4 columns, in registers, in column order. Packed weights are dequantized exactly as src/quant
 * does (d * q is exact in f32); f16 scales come from the 65536-entry table at the module's `f16tab`.
 */

export type KernelFormat = 'f32' | 'f16' | 'q8_0' | 'q4_0';

export interface Decoder {
  /** Bytes of one unit of the layout (rowQuads.ts): a block, or one 4-column vector for f32 and f16. */
  unitBytes: number;
  /** Bytes before a block's groups (its f16 scale), read by `prelude`. A block (one 4-column vector for f32 and f16) is a unit of the layout; cols are whole blocks. */
  headerBytes: number;
  /**
   * A block is `groups` groups of `groupBytes` bytes, walked by an inner loop (not unrolled: V8's
   * scheduler hoisted the loads of an unrolled block and spilled); each group makes `xOffsets.length`
   * vectors, vector j multiplying the activations at xo + xOffsets[j]; xo advances by `groupX` per
   * group. The vectors come in column order (chunked.ts relies on it).
   */
  groups: number;
  groupBytes: number;
  groupX: number;
  xOffsets: number[];
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

export const DECODERS: Record<KernelFormat, Decoder> = {
  f32: {
    unitBytes: 16,
    headerBytes: 0,
    groups: 1,
    groupBytes: 16,
    groupX: 16,
    xOffsets: [0],
    temps: [],
    prelude: () => '',
    vector: (i, _j, ptr, off) => `(local.set $w${i} (v128.load offset=${off} align=4 (local.get ${ptr})))`,
  },
  f16: {
    unitBytes: 8,
    headerBytes: 0,
    groups: 1,
    groupBytes: 8,
    groupX: 16,
    xOffsets: [0],
    temps: ['$u', '$h'],
    prelude: () => '',
    vector: (i, _j, ptr, off) => `(local.set $u${i} (v128.load16x4_u offset=${off} align=2 (local.get ${ptr})))${half4(i)}`,
  },
  // Q8_0, 34 bytes: f16 d, then 32 int8; y[j] = d * q[j]. A group: eight int8 widened to i16 lanes in
  // $h by one load, which make two vectors.
  q8_0: {
    unitBytes: 34,
    headerBytes: 2,
    groups: 4,
    groupBytes: 8,
    groupX: 32,
    xOffsets: [0, 16],
    temps: ['$d', '$h'],
    prelude: scale,
    vector: (i, j, ptr, off) => (j === 0 ? `(local.set $h${i} (v128.load8x8_s offset=${off} align=1 (local.get ${ptr})))\n  ${scaledHalf(i, 'low')}` : scaledHalf(i, 'high')),
  },
  // Q4_0, 18 bytes: f16 d, then 16 bytes; element j < 16 is the low nibble of byte j, j + 16 its high
  // nibble; y[j] = d * (nibble - 8). Eight vectors in column order (as every format: see the top):
  // bytes 0-7 and 8-15 widened to u16 lanes, low nibbles (elements 0 .. 15), then high (16 .. 31),
  // each load making two vectors.
  q4_0: {
    unitBytes: 18,
    headerBytes: 2,
    groups: 1,
    groupBytes: 16,
    groupX: 128,
    xOffsets: [0, 16, 32, 48, 64, 80, 96, 112],
    temps: ['$d', '$h'],
    prelude: scale,
    vector: (i, j, ptr, off) => {
      if (j % 2 === 1) return scaledHalf(i, 'high');
      const bytes = `(v128.load8x8_u offset=${off + ((j >> 1) & 1) * 8} align=1 (local.get ${ptr}))`;
      const nibbles = j < 4 ? `(v128.and ${bytes} (v128.const i16x8 15 15 15 15 15 15 15 15))` : `(i16x8.shr_u ${bytes} (i32.const 4))`;
      return `(local.set $h${i} (i16x8.sub ${nibbles} (v128.const i16x8 8 8 8 8 8 8 8 8)))\n  ${scaledHalf(i, 'low')}`;
    },
  },
};

/** Bytes of one unit (see the layout above): a vector's for f32 and f16, a block's for the packed formats. */
export function unitBytes(format: KernelFormat): number {
  const d = DECODERS[format];
  return d.unitBytes;
}

