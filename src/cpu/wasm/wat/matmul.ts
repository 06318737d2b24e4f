/**
 * WebAssembly text of the batched matmul, one function per weight format: y[b, r] = sum_c W[r, c] * x[b, c]
 * for rows r in [r0, r1) and all n activation rows b.
 *
 * Register-blocked in tiles of weight rows x activation rows (tile.ts); a quad of weight rows meets
 * 4 or more activation rows chunk by chunk of columns (chunked.ts), fewer in whole tiles.
 *
 * Weight layout (rowQuads.ts, made at load by placeQuads.ts): rows come in quads, rows 4q .. 4q + 3 interleaved by units (a unit: a
 * vector of 4 columns for f32 and f16, a block for the packed formats): unit u of row 4q + i is at
 * w + 4q * rowBytes + (4u + i) * unitBytes. So a tile over a quad reads one sequential stream: the
 * hardware prefetcher follows one stream; walking 4 row-major rows at once streamed from memory at
 * half the bandwidth of walking one (measured on an EPYC). Rows past the last whole quad stay
 * row-major after the quads.
 *
 * Signature (all i32 byte addresses into the one memory):
 *   matmul_<fmt>(w, rowBytes, x, y, rows, cols, n, r0, r1, scratch)
 *   w: the tensor in the layout above, rowBytes: bytes of one row's units (ggml's row size, src/quant/formats.ts)
 *   x: n rows of cols f32, back to back; y: n rows of `rows` f32 (rows is y's stride and the tensor's
 *   row count, so that a worker given [r0, r1) writes only its columns of y; shares aligned to quads
 *   run fastest, any r0 is correct); scratch: matmulScratchBytes(n) bytes of this thread's own.
 * Assumptions: cols % 4 == 0 (f32, f16), cols % 32 == 0 (q8_0, q4_0: whole blocks).
 * Sum order: every (r, b) pair accumulates in 4 f32 lanes, vectors in the format's fixed order, then
 * lanes (0 + 1) + (2 + 3), whatever tile it falls in: results do not depend on the number of
 * activation rows in a step, on the split of rows across threads, or on which tile shape ran. The
 * TypeScript oracle accumulates in f64, hence the tolerance the tests allow.
 * How each format is read: decoders.ts.
 */

import { CHUNK_LOCALS, chunkedQuad } from './chunked.ts';
import { DECODERS, type KernelFormat } from './decoders.ts';
import { columns, FULL_B, QUAD } from './tile.ts';

export function matmulWat(format: KernelFormat, relaxed = false): string {
  const d = DECODERS[format];
  const unit = d.unitBytes;
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
  (param $w i32) (param $rowBytes i32) (param $x i32) (param $y i32) (param $rows i32) (param $cols i32) (param $n i32) (param $r0 i32) (param $r1 i32) (param $scratch i32)
  (local $r i32) (local $b i32) (local $g i32) (local $xo i32) (local $xRowBytes i32) (local $quadRows i32) (local $wbase i32) (local $step i32) (local $wq i32) (local $wg i32) ${CHUNK_LOCALS}
  ${Array.from({ length: FULL_B }, (_, b) => `(local $x${b} i32)`).join(' ')}
  ${vectorLocals.map((l) => `(local ${l} v128)`).join(' ')}
  (local.set $xRowBytes (i32.shl (local.get $cols) (i32.const 2)))
  (local.set $quadRows (i32.and (local.get $rows) (i32.const -4)))
  (local.set $acs (local.get $scratch))
  (local.set $deq (i32.add (local.get $scratch) (i32.shl (local.get $n) (i32.const 6))))
  (local.set $r (local.get $r0))
  ;; rows before this share's first whole quad, one at a time
  (block $leadDone (loop $lead
    (br_if $leadDone (i32.ge_u (local.get $r) (local.get $r1)))
    (br_if $leadDone (i32.eqz (i32.and (local.get $r) (i32.const 3))))
    ${lone('leadCols')}
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $lead)))
  (block $quadsDone (loop $quads
    (br_if $quadsDone (i32.gt_u (i32.add (local.get $r) (i32.const ${QUAD})) (local.get $r1)))
    (br_if $quadsDone (i32.gt_u (i32.add (local.get $r) (i32.const ${QUAD})) (local.get $quadRows)))
    (local.set $wbase (i32.add (local.get $w) (i32.mul (local.get $r) (local.get $rowBytes))))
    (local.set $step (i32.const ${4 * unit}))
    (if (i32.ge_u (local.get $n) (i32.const ${FULL_B}))
      (then ${chunkedQuad(d, relaxed)})
      (else ${columns(d, QUAD, relaxed, 'quadCols', false, true)}))
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
