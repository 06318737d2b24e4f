import { EXP_F32X4_INIT, EXP_F32X4_LOCALS, expF32x4 } from './elementwise.ts';

/**
 * WebAssembly text of decode attention for one query row over the paged KV cache.
 *
 *   attention(q, out, kPool, vPool, table, nKeys, blockSize, numKvHeads, headDim, numHeads, scores, scale: f64)
 *   q, out: numHeads * headDim f32; kPool, vPool: one layer's pools, [num_blocks, num_kv_heads, block_size,
 *   head_dim] f32 (src/cpu/CpuBackend.ts's layout); table: i32 block ids; scores: nKeys f32 of scratch
 *   (the backend reserves nKeys f64, twice that).
 * The query attends to cache entries 0..nKeys-1, entry s at slot table[s / blockSize] * blockSize +
 * s % blockSize: the key count is an input of its own, not the position + 1, so that a cache with
 * evicted blocks (shorter table than positions) is read the same way. Within a block the keys of one
 * KV head are contiguous, so each block is one sequential read. Grouped-query: head h reads KV head
 * h / (numHeads / numKvHeads). Assumes headDim % 4 == 0.
 * Scores, softmax weights and the weighted sum of V are f32 SIMD (the weights' sum in f64): the
 * oracle's f64 softmax differs by a few f32 ulps, far inside the forward's 1e-5. Why this shape:
 * - q.k for 4 keys at a time (4 accumulators, one q load per 4 keys; one transpose-add gives 4 scores);
 * - exp 4 scores at a time (expF32x4), not a scalar call per score;
 * - the output head in registers: 8 vectors (32 dims) of accumulators per pass over the keys, not a
 *   load and store of the whole head per key; narrower passes (4, then 1 vector) take the rest of headDim.
 */
/**
 * Points $kb at this KV head's rows of table block $bi in `pool` (K or V: the same walk) and sets
 * $cnt to how many of its entries are below nKeys.
 */
const enterBlock = (pool: string) => `      (local.set $kb (i32.add (i32.add (local.get ${pool}) (local.get $headOff))
        (i32.mul (i32.load (i32.add (local.get $table) (i32.shl (local.get $bi) (i32.const 2))))
                 (local.get $blockBytes))))
      (local.set $cnt (select (local.get $bs) (i32.sub (local.get $nKeys) (local.get $s))
        (i32.lt_u (local.get $bs) (i32.sub (local.get $nKeys) (local.get $s)))))`;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

const ZERO = '(v128.const i32x4 0 0 0 0)';

/** $a0 = scale * [q.k] for the 4 key rows at $kb, $k1, $k2, $k3 (one accumulator per key over the head's dims, then a transpose-add). */
const dot4 = `(local.set $a0 ${ZERO}) (local.set $a1 ${ZERO}) (local.set $a2 ${ZERO}) (local.set $a3 ${ZERO})
          (local.set $k1 (i32.add (local.get $kb) (local.get $headBytes)))
          (local.set $k2 (i32.add (local.get $k1) (local.get $headBytes)))
          (local.set $k3 (i32.add (local.get $k2) (local.get $headBytes)))
          (local.set $i (i32.const 0))
          (block $id4 (loop $il4
            (br_if $id4 (i32.ge_u (local.get $i) (local.get $headBytes)))
            (local.set $p (v128.load align=4 (i32.add (local.get $qh) (local.get $i))))
${range(4).map((a) => `            (local.set $a${a} (f32x4.add (local.get $a${a}) (f32x4.mul (local.get $p) (v128.load align=4 (i32.add (local.get ${a === 0 ? '$kb' : `$k${a}`}) (local.get $i))))))`).join('\n')}
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $il4)))
          ;; transpose-add: [a0 a1 a2 a3] lane sums in one vector
          (local.set $a0 (f32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1))
                                    (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1))))
          (local.set $a2 (f32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3))
                                    (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3))))
          (local.set $a0 (f32x4.mul (local.get $scale4)
            (f32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $a0) (local.get $a2))
                       (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $a0) (local.get $a2)))))`;

/**
 * One pass over all keys for `w` vectors of the output head starting at byte $d: out = sum_s p_s v_s / sum,
 * accumulated in locals $a0.. and stored once. Runs while w vectors remain in the head.
 */
const vPass = (w: number): string => `    (block $wd${w} (loop $wl${w}
      (br_if $wd${w} (i32.gt_u (i32.add (local.get $d) (i32.const ${w * 16})) (local.get $headBytes)))
${range(w).map((a) => `      (local.set $a${a} (v128.const i32x4 0 0 0 0))`).join('\n')}
      (local.set $s (i32.const 0)) (local.set $bi (i32.const 0))
      (block $vd${w} (loop $vl${w}
        (br_if $vd${w} (i32.ge_u (local.get $s) (local.get $nKeys)))
${enterBlock('$vPool')}
        (local.set $kb (i32.add (local.get $kb) (local.get $d)))
        (local.set $j (i32.const 0))
        (block $jd${w} (loop $jl${w}
          (br_if $jd${w} (i32.ge_u (local.get $j) (local.get $cnt)))
          (local.set $p (v128.load32_splat (i32.add (local.get $scores) (i32.shl (local.get $s) (i32.const 2)))))
${range(w).map((a) => `          (local.set $a${a} (f32x4.add (local.get $a${a}) (f32x4.mul (local.get $p) (v128.load offset=${a * 16} align=4 (local.get $kb)))))`).join('\n')}
          (local.set $kb (i32.add (local.get $kb) (local.get $headBytes)))
          (local.set $s (i32.add (local.get $s) (i32.const 1)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jl${w})))
        (local.set $bi (i32.add (local.get $bi) (i32.const 1)))
        (br $vl${w})))
      (local.set $kb (i32.add (local.get $oh) (local.get $d)))
${range(w).map((a) => `      (v128.store offset=${a * 16} align=4 (local.get $kb) (f32x4.div (local.get $a${a}) (local.get $sum4)))`).join('\n')}
      (local.set $d (i32.add (local.get $d) (i32.const ${w * 16})))
      (br $wl${w})))`;

export const attentionWat = `
(func $attention (export "attention")
  (param $q i32) (param $out i32) (param $kPool i32) (param $vPool i32) (param $table i32) (param $nKeys i32)
  (param $bs i32) (param $nkv i32) (param $hd i32) (param $nh i32) (param $scores i32) (param $scale f64)
  (local $h i32) (local $group i32) (local $qh i32) (local $oh i32) (local $headBytes i32) (local $headOff i32) (local $blockBytes i32)
  (local $s i32) (local $bi i32) (local $j i32) (local $cnt i32) (local $kb i32) (local $k1 i32) (local $k2 i32) (local $k3 i32) (local $i i32) (local $d i32)
  (local $max4 v128) (local $scale4 v128) (local $sum4 v128) (local $sumLo v128) (local $sumHi v128) (local $p v128) (local $e v128)
  ${range(8).map((a) => `(local $a${a} v128)`).join(' ')} ${EXP_F32X4_LOCALS}
  ${EXP_F32X4_INIT}
  (local.set $group (i32.div_u (local.get $nh) (local.get $nkv)))
  (local.set $headBytes (i32.shl (local.get $hd) (i32.const 2)))
  (local.set $blockBytes (i32.mul (i32.mul (local.get $nkv) (local.get $bs)) (local.get $headBytes)))
  (local.set $scale4 (f32x4.splat (f32.demote_f64 (local.get $scale))))
  (block $headsDone (loop $heads
    (br_if $headsDone (i32.ge_u (local.get $h) (local.get $nh)))
    (local.set $qh (i32.add (local.get $q) (i32.mul (local.get $h) (local.get $headBytes))))
    (local.set $oh (i32.add (local.get $out) (i32.mul (local.get $h) (local.get $headBytes))))
    ;; byte offset of (block 0, this KV head) in a pool; block b adds b * blockBytes
    (local.set $headOff (i32.mul (i32.mul (i32.div_u (local.get $h) (local.get $group)) (local.get $bs)) (local.get $headBytes)))
    ;; scores, 4 keys at a time within a block, then the block's last few one by one (in lane 0)
    (local.set $max4 (v128.const f32x4 -inf -inf -inf -inf))
    (local.set $s (i32.const 0)) (local.set $bi (i32.const 0))
    (block $kd (loop $kl
      (br_if $kd (i32.ge_u (local.get $s) (local.get $nKeys)))
${enterBlock('$kPool')}
      (local.set $j (i32.const 0))
      (block $jd (loop $jl
        (br_if $jd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $cnt)))
          ${dot4}
        (v128.store align=4 (i32.add (local.get $scores) (i32.shl (local.get $s) (i32.const 2))) (local.get $a0))
        (local.set $max4 (f32x4.max (local.get $max4) (local.get $a0)))
        (local.set $kb (i32.add (local.get $kb) (i32.shl (local.get $headBytes) (i32.const 2))))
        (local.set $s (i32.add (local.get $s) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $jl)))
      (block $jd1 (loop $jl1
        (br_if $jd1 (i32.ge_u (local.get $j) (local.get $cnt)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (block $id (loop $il
          (br_if $id (i32.ge_u (local.get $i) (local.get $headBytes)))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load align=4 (i32.add (local.get $qh) (local.get $i))) (v128.load align=4 (i32.add (local.get $kb) (local.get $i))))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br $il)))
        (local.set $a0 (f32x4.add (local.get $a0) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a0) (local.get $a0))))
        (local.set $a0 (f32x4.mul (local.get $scale4) (f32x4.splat (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0))))))
        (f32.store (i32.add (local.get $scores) (i32.shl (local.get $s) (i32.const 2))) (f32x4.extract_lane 0 (local.get $a0)))
        (local.set $max4 (f32x4.max (local.get $max4) (local.get $a0)))
        (local.set $kb (i32.add (local.get $kb) (local.get $headBytes)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jl1)))
      (local.set $bi (i32.add (local.get $bi) (i32.const 1)))
      (br $kl)))
    ;; softmax weights, unnormalized, in place; their sum in f64 (lanes 0,1 and 2,3)
    (local.set $max4 (f32x4.max (local.get $max4) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $max4) (local.get $max4))))
    (local.set $max4 (f32x4.max (local.get $max4) (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 (local.get $max4) (local.get $max4))))
    (local.set $sumLo (v128.const i32x4 0 0 0 0)) (local.set $sumHi (v128.const i32x4 0 0 0 0))
    (local.set $s (i32.const 0))
    (block $ed (loop $el
      (br_if $ed (i32.gt_u (i32.add (local.get $s) (i32.const 4)) (local.get $nKeys)))
      (local.set $i (i32.add (local.get $scores) (i32.shl (local.get $s) (i32.const 2))))
      ${expF32x4('(f32x4.sub (v128.load align=4 (local.get $i)) (local.get $max4))', '$e')}
      (v128.store align=4 (local.get $i) (local.get $e))
      (local.set $sumLo (f64x2.add (local.get $sumLo) (f64x2.promote_low_f32x4 (local.get $e))))
      (local.set $sumHi (f64x2.add (local.get $sumHi) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $e) (local.get $e)))))
      (local.set $s (i32.add (local.get $s) (i32.const 4)))
      (br $el)))
    (block $ed1 (loop $el1
      (br_if $ed1 (i32.ge_u (local.get $s) (local.get $nKeys)))
      (local.set $i (i32.add (local.get $scores) (i32.shl (local.get $s) (i32.const 2))))
      ${expF32x4('(f32x4.sub (v128.load32_splat (local.get $i)) (local.get $max4))', '$e')}
      (f32.store (local.get $i) (f32x4.extract_lane 0 (local.get $e)))
      (local.set $sumLo (f64x2.add (local.get $sumLo) (f64x2.promote_low_f32x4 (v128.and (local.get $e) (v128.const i32x4 -1 0 0 0)))))
      (local.set $s (i32.add (local.get $s) (i32.const 1)))
      (br $el1)))
    (local.set $sumLo (f64x2.add (local.get $sumLo) (local.get $sumHi)))
    (local.set $sum4 (f32x4.splat (f32.demote_f64 (f64.add (f64x2.extract_lane 0 (local.get $sumLo)) (f64x2.extract_lane 1 (local.get $sumLo))))))
    ;; out = sum_s p_s v_s / sum
    (local.set $d (i32.const 0))
${vPass(8)}
${vPass(4)}
${vPass(1)}
    (local.set $h (i32.add (local.get $h) (i32.const 1)))
    (br $heads))))
`;
