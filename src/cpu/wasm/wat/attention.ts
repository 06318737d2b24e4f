/**
 * WebAssembly text of decode attention for one query row over the paged KV cache.
 *
 *   attention(q, out, kPool, vPool, table, nKeys, blockSize, numKvHeads, headDim, numHeads, scores, scale: f64)
 *   q, out: numHeads * headDim f32; kPool, vPool: one layer's pools, [num_blocks, num_kv_heads, block_size,
 *   head_dim] f32 (src/cpu/CpuBackend.ts's layout); table: i32 block ids; scores: nKeys f64 of scratch.
 * The query attends to cache entries 0..nKeys-1, entry s at slot table[s / blockSize] * blockSize +
 * s % blockSize: the key count is an input of its own, not the position + 1, so that a cache with
 * evicted blocks (shorter table than positions) is read the same way. Within a block the keys of one
 * KV head are contiguous, so each block is one sequential read. Grouped-query: head h reads KV head
 * h / (numHeads / numKvHeads). Assumes headDim % 4 == 0.
 * Scores and softmax are f64 (as the oracle); q.k and the weighted sum of V are f32 SIMD.
 */
/**
 * Points $kb at this KV head's rows of table block $bi in `pool` (K or V: the same walk) and sets
 * $cnt to how many of its entries are below nKeys.
 */
const enterBlock = (pool: string) => `      (local.set $kb (i32.add (i32.add (local.get ${pool}) (local.get $headOff))
        (i32.mul (i32.load (i32.add (local.get $table) (i32.shl (local.get $bi) (i32.const 2))))
                 (i32.mul (i32.mul (local.get $nkv) (local.get $bs)) (local.get $headBytes)))))
      (local.set $cnt (select (local.get $bs) (i32.sub (local.get $nKeys) (local.get $s))
        (i32.lt_u (local.get $bs) (i32.sub (local.get $nKeys) (local.get $s)))))`;

export const attentionWat = `
(func $attention (export "attention")
  (param $q i32) (param $out i32) (param $kPool i32) (param $vPool i32) (param $table i32) (param $nKeys i32)
  (param $bs i32) (param $nkv i32) (param $hd i32) (param $nh i32) (param $scores i32) (param $scale f64)
  (local $h i32) (local $group i32) (local $qh i32) (local $oh i32) (local $headBytes i32) (local $headOff i32)
  (local $s i32) (local $bi i32) (local $j i32) (local $cnt i32) (local $kb i32) (local $i i32)
  (local $max f64) (local $sum f64) (local $sc f64) (local $acc v128) (local $p v128)
  (local.set $group (i32.div_u (local.get $nh) (local.get $nkv)))
  (local.set $headBytes (i32.shl (local.get $hd) (i32.const 2)))
  (block $headsDone (loop $heads
    (br_if $headsDone (i32.ge_u (local.get $h) (local.get $nh)))
    (local.set $qh (i32.add (local.get $q) (i32.mul (local.get $h) (local.get $headBytes))))
    (local.set $oh (i32.add (local.get $out) (i32.mul (local.get $h) (local.get $headBytes))))
    ;; byte offset of (block 0, this KV head) in a pool; block b adds b * nkv * bs * headBytes
    (local.set $headOff (i32.mul (i32.mul (i32.div_u (local.get $h) (local.get $group)) (local.get $bs)) (local.get $headBytes)))
    ;; scores
    (local.set $max (f64.const -inf))
    (local.set $s (i32.const 0)) (local.set $bi (i32.const 0))
    (block $kd (loop $kl
      (br_if $kd (i32.ge_u (local.get $s) (local.get $nKeys)))
${enterBlock('$kPool')}
      (local.set $j (i32.const 0))
      (block $jd (loop $jl
        (br_if $jd (i32.ge_u (local.get $j) (local.get $cnt)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (block $id (loop $il
          (br_if $id (i32.ge_u (local.get $i) (local.get $headBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load align=4 (i32.add (local.get $qh) (local.get $i))) (v128.load align=4 (i32.add (local.get $kb) (local.get $i))))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br $il)))
        (local.set $sc (f64.mul (local.get $scale) (f64.promote_f32
          (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                   (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))))
        (f64.store (i32.add (local.get $scores) (i32.shl (local.get $s) (i32.const 3))) (local.get $sc))
        (if (f64.gt (local.get $sc) (local.get $max)) (then (local.set $max (local.get $sc))))
        (local.set $kb (i32.add (local.get $kb) (local.get $headBytes)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jl)))
      (local.set $bi (i32.add (local.get $bi) (i32.const 1)))
      (br $kl)))
    ;; softmax weights, unnormalized
    (local.set $sum (f64.const 0))
    (local.set $s (i32.const 0))
    (block $ed (loop $el
      (br_if $ed (i32.ge_u (local.get $s) (local.get $nKeys)))
      (local.set $sc (call $exp (f64.sub (f64.load (i32.add (local.get $scores) (i32.shl (local.get $s) (i32.const 3)))) (local.get $max))))
      (f64.store (i32.add (local.get $scores) (i32.shl (local.get $s) (i32.const 3))) (local.get $sc))
      (local.set $sum (f64.add (local.get $sum) (local.get $sc)))
      (local.set $s (i32.add (local.get $s) (i32.const 1)))
      (br $el)))
    ;; out = sum_s p_s v_s, accumulated in place over each block's contiguous values
    (memory.fill (local.get $oh) (i32.const 0) (local.get $headBytes))
    (local.set $s (i32.const 0)) (local.set $bi (i32.const 0))
    (block $vd (loop $vl
      (br_if $vd (i32.ge_u (local.get $s) (local.get $nKeys)))
${enterBlock('$vPool')}
      (local.set $j (i32.const 0))
      (block $jd2 (loop $jl2
        (br_if $jd2 (i32.ge_u (local.get $j) (local.get $cnt)))
        (local.set $p (f32x4.splat (f32.demote_f64 (f64.load (i32.add (local.get $scores) (i32.shl (local.get $s) (i32.const 3)))))))
        (local.set $i (i32.const 0))
        (block $id2 (loop $il2
          (br_if $id2 (i32.ge_u (local.get $i) (local.get $headBytes)))
          (v128.store align=4 (i32.add (local.get $oh) (local.get $i))
            (f32x4.add (v128.load align=4 (i32.add (local.get $oh) (local.get $i))) (f32x4.mul (local.get $p) (v128.load align=4 (i32.add (local.get $kb) (local.get $i))))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br $il2)))
        (local.set $kb (i32.add (local.get $kb) (local.get $headBytes)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jl2)))
      (local.set $bi (i32.add (local.get $bi) (i32.const 1)))
      (br $vl)))
    (local.set $p (f32x4.splat (f32.demote_f64 (local.get $sum))))
    (local.set $i (i32.const 0))
    (block $nd (loop $nl
      (br_if $nd (i32.ge_u (local.get $i) (local.get $headBytes)))
      (v128.store align=4 (i32.add (local.get $oh) (local.get $i)) (f32x4.div (v128.load align=4 (i32.add (local.get $oh) (local.get $i))) (local.get $p)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $nl)))
    (local.set $h (i32.add (local.get $h) (i32.const 1)))
    (br $heads))))
`;
