/**
 * The matmul's path for a quad of weight rows when 4 or more activation rows share a step (batched
 * decode, prefill): the columns go by in chunks of CHUNK_X_BYTES of x, and every tile of the quad runs
 * over one chunk before the next. Why: a quad's tiles read it several times (n = 8: four 2 x 4
 * tiles); run whole, the first tile streams the quad from memory and the others find it in cache,
 * so demand comes in bursts that the hardware prefetcher does not keep up with (13 GMAC/s at n = 8
 * on the 49152 x 576 head against 17 chunked, one EPYC core, a throwaway microbench). A chunk of a packed
 * or f16 quad is first decoded into f32 at $deq, once for all n rows, and the tiles multiply f32
 * (fused dequantizing paid the decode once per 4 activation rows and spilled on 2 x 4 for q8_0); f32
 * tiles read the weights where they lie.
 *
 * Results are bit-identical to the whole tiles' (tile.ts): a chunk's accumulators are stored and
 * reloaded exactly, and every format decodes in column order (checkColumnOrder).
 * Scratch (per thread, matmulScratchBytes): n x 4 accumulators of 16 bytes at $acs, then the decoded
 * chunk at $deq.
 */
import { type Decoder, DECODERS } from './decoders.ts';
import { columns, hsum, QUAD } from './tile.ts';

/** x bytes per chunk: 64 columns (1 KiB of an f32 quad), a whole number of every format's blocks. */
const CHUNK_X_BYTES = 256;

/** Bytes of a thread's scratch for steps of up to `maxRows` activation rows. */
export function matmulScratchBytes(maxRows: number): number {
  return maxRows * QUAD * 16 + QUAD * CHUNK_X_BYTES;
}

/** x bytes one block of the format spans. */
const xBlockBytes = (d: Decoder): number => d.groups * d.groupX;

/**
 * A chunk decoded to $deq has an f32 quad's layout (vector v of row i at 64v + 16i), which the f32
 * tiles read; they then add the same products in the same order as the format's own tiles only if the
 * format decodes its vectors in column order. Every decoder does (decoders.ts); checked here, where
 * it matters.
 */
function checkColumnOrder(d: Decoder): void {
  const columns: number[] = [];
  for (let g = 0; g < d.groups; g++) columns.push(...d.xOffsets.map((o) => g * d.groupX + o));
  if (columns.some((o, v) => o !== 16 * v)) throw new Error('a matmul decoder must make its vectors in column order');
}

/** Decodes the quad at $wbase's blocks for x bytes [$k0, $k1) to $deq. */
function decodeChunk(d: Decoder): string {
  const stores: string[] = [];
  for (let i = 0; i < QUAD; i++) {
    d.xOffsets.forEach((_, j) => {
      stores.push(d.vector(i, j, '$wg', i * d.unitBytes + d.headerBytes));
      stores.push(`(v128.store offset=${j * 64 + i * 16} align=4 (local.get $dg) (local.get $w${i}))`);
    });
  }
  const preludes = Array.from({ length: QUAD }, (_, i) => d.prelude(i, i * d.unitBytes)).join('\n    ');
  return `
  (local.set $wq (i32.add (local.get $wbase) (i32.mul (i32.shr_u (local.get $k0) (i32.const ${Math.log2(xBlockBytes(d))})) (i32.const ${QUAD * d.unitBytes}))))
  (local.set $dq (local.get $deq))
  (local.set $xo (local.get $k0))
  (block $decodeDone (loop $decode
    (br_if $decodeDone (i32.ge_u (local.get $xo) (local.get $k1)))
    ${preludes}
    (local.set $wg (local.get $wq))
    (local.set $dg (local.get $dq))
    (local.set $g (i32.const ${d.groups}))
    (loop $decodeGroups
      ${stores.join('\n      ')}
      (local.set $wg (i32.add (local.get $wg) (i32.const ${d.groupBytes})))
      (local.set $dg (i32.add (local.get $dg) (i32.const ${d.xOffsets.length * 64})))
      (local.set $g (i32.sub (local.get $g) (i32.const 1)))
      (br_if $decodeGroups (local.get $g)))
    (local.set $wq (i32.add (local.get $wq) (i32.const ${QUAD * d.unitBytes})))
    (local.set $dq (i32.add (local.get $dq) (i32.const ${d.groups * d.xOffsets.length * 64})))
    (local.set $xo (i32.add (local.get $xo) (i32.const ${xBlockBytes(d)})))
    (br $decode)))
  (local.set $tw (local.get $deq))`;
}

/** The quad at $wbase (rows $r ..) against all n activation rows, chunk by chunk; sums stored in y. */
export function chunkedQuad(d: Decoder, relaxed: boolean): string {
  checkColumnOrder(d);
  const sums = Array.from(
    { length: QUAD },
    (_, i) =>
      `(f32.store (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (local.get $b) (local.get $rows)) (i32.add (local.get $r) (i32.const ${i}))) (i32.const 2)))
        ${hsum(`(v128.load offset=${i * 16} (i32.add (local.get $acs) (i32.shl (local.get $b) (i32.const 6))))`)})`,
  );
  return `
  (memory.fill (local.get $acs) (i32.const 0) (i32.shl (local.get $n) (i32.const 6)))
  (local.set $k0 (i32.const 0))
  (block $chunksDone (loop $chunks
    (br_if $chunksDone (i32.ge_u (local.get $k0) (local.get $xRowBytes)))
    (local.set $k1 (i32.add (local.get $k0) (i32.const ${CHUNK_X_BYTES})))
    (if (i32.gt_u (local.get $k1) (local.get $xRowBytes)) (then (local.set $k1 (local.get $xRowBytes))))
    ${d === DECODERS.f32 ? '(local.set $tw (i32.add (local.get $wbase) (i32.shl (local.get $k0) (i32.const 2))))' : decodeChunk(d)}
    (local.set $step (i32.const 64))
    ${columns(DECODERS.f32, QUAD, relaxed, 'chunkCols', true)}
    (local.set $k0 (local.get $k1))
    (br $chunks)))
  (local.set $b (i32.const 0))
  (block $sumsDone (loop $sums
    (br_if $sumsDone (i32.ge_u (local.get $b) (local.get $n)))
    ${sums.join('\n    ')}
    (local.set $b (i32.add (local.get $b) (i32.const 1)))
    (br $sums)))`;
}

/** The locals chunkedQuad uses besides the matmul's own. */
export const CHUNK_LOCALS = '(local $acs i32) (local $deq i32) (local $tw i32) (local $k0 i32) (local $k1 i32) (local $dq i32) (local $dg i32)';
