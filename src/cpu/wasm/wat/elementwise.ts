/**
 * WebAssembly text of the per-row kernels around the matmuls. Scalar ops (norm, RoPE, SwiGLU, exp) run
 * in f64 in the same order as src/cpu/ops.ts and rope.ts, so they round as the oracle does; they are a
 * few hundred values per row, the matmuls are the time. Addresses are i32 byte offsets.
 *
 *   exp(x: f64): f64                       e^x to ~1 ulp (wasm has no exp; no import, so no JS call per score)
 *   rmsnorm(x, w, out, n, eps: f64)        out = w * (x / sqrt(mean(x^2) + eps))
 *   add(dst, src, n)                       dst += src (f32, as the oracle's f32 + f32)
 *   swiglu(gate, up, n)                    gate = silu(gate) * up
 *   rope(x, heads, headDim, cos, sin)      rotate-half RoPE; cos, sin: headDim/2 f64 for this position
 *   dequant_f16(src, dst, n) / dequant_q8_0(src, dst, n) / dequant_q4_0(src, dst, n)
 *                                          one embedding row to f32 (n elements; whole blocks)
 */
export const elementwiseWat = `
(func $exp (export "exp") (param $x f64) (result f64)
  (local $k f64) (local $r f64) (local $p f64)
  ;; e^x = 2^k * e^r, r = x - k ln2 in [-ln2/2, ln2/2] (ln2 split in two so that k ln2 is exact enough);
  ;; Taylor to degree 13 leaves < 2e-17 relative.
  (if (f64.gt (local.get $x) (f64.const 709.7)) (then (return (f64.const inf))))
  (if (f64.lt (local.get $x) (f64.const -745.2)) (then (return (f64.const 0))))
  (local.set $k (f64.nearest (f64.mul (local.get $x) (f64.const 1.4426950408889634))))
  (local.set $r (f64.sub (f64.sub (local.get $x) (f64.mul (local.get $k) (f64.const 0.6931471803691238)))
                         (f64.mul (local.get $k) (f64.const 1.9082149292705877e-10))))
  (local.set $p (f64.const 1.6059043836821613e-10)) ;; 1/13!
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 2.08767569878681e-9)))
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 2.505210838544172e-8)))
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 2.7557319223985893e-7)))
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 2.755731922398589e-6)))
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 2.48015873015873e-5)))
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 1.984126984126984e-4)))
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 1.388888888888889e-3)))
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 8.333333333333333e-3)))
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 4.1666666666666664e-2)))
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0.16666666666666666)))
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0.5)))
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 1)))
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 1)))
  ;; 2^k in two factors so that k down to -1074 (subnormal results) stays representable.
  (f64.mul (f64.mul (local.get $p)
      (f64.reinterpret_i64 (i64.shl (i64.add (i64.trunc_sat_f64_s (f64.floor (f64.mul (local.get $k) (f64.const 0.5)))) (i64.const 1023)) (i64.const 52))))
    (f64.reinterpret_i64 (i64.shl (i64.add (i64.trunc_sat_f64_s (f64.sub (local.get $k) (f64.floor (f64.mul (local.get $k) (f64.const 0.5))))) (i64.const 1023)) (i64.const 52)))))

(func $rmsnorm (export "rmsnorm") (param $x i32) (param $w i32) (param $out i32) (param $n i32) (param $eps f64)
  (local $i i32) (local $ss f64) (local $v f64) (local $scale f64)
  (block $d (loop $l
    (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
    (local.set $v (f64.promote_f32 (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))))
    (local.set $ss (f64.add (local.get $ss) (f64.mul (local.get $v) (local.get $v))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $l)))
  (local.set $scale (f64.div (f64.const 1) (f64.sqrt (f64.add (f64.div (local.get $ss) (f64.convert_i32_u (local.get $n))) (local.get $eps)))))
  (local.set $i (i32.const 0))
  (block $d2 (loop $l2
    (br_if $d2 (i32.ge_u (local.get $i) (local.get $n)))
    (f32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
      (f32.demote_f64 (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 2)))))
        (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))) (local.get $scale)))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $l2))))

(func $add (export "add") (param $dst i32) (param $src i32) (param $n i32)
  (local $end i32) (local $vEnd i32)
  (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vEnd (i32.add (local.get $dst) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $d (loop $l
    (br_if $d (i32.ge_u (local.get $dst) (local.get $vEnd)))
    (v128.store align=4 (local.get $dst) (f32x4.add (v128.load align=4 (local.get $dst)) (v128.load align=4 (local.get $src))))
    (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
    (local.set $src (i32.add (local.get $src) (i32.const 16)))
    (br $l)))
  (block $d2 (loop $l2
    (br_if $d2 (i32.ge_u (local.get $dst) (local.get $end)))
    (f32.store (local.get $dst) (f32.add (f32.load (local.get $dst)) (f32.load (local.get $src))))
    (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
    (local.set $src (i32.add (local.get $src) (i32.const 4)))
    (br $l2))))

(func $swiglu (export "swiglu") (param $gate i32) (param $up i32) (param $n i32)
  (local $end i32) (local $g f64)
  (local.set $end (i32.add (local.get $gate) (i32.shl (local.get $n) (i32.const 2))))
  (block $d (loop $l
    (br_if $d (i32.ge_u (local.get $gate) (local.get $end)))
    (local.set $g (f64.promote_f32 (f32.load (local.get $gate))))
    (f32.store (local.get $gate)
      (f32.demote_f64 (f64.mul (f64.div (local.get $g) (f64.add (f64.const 1) (call $exp (f64.neg (local.get $g)))))
        (f64.promote_f32 (f32.load (local.get $up))))))
    (local.set $gate (i32.add (local.get $gate) (i32.const 4)))
    (local.set $up (i32.add (local.get $up) (i32.const 4)))
    (br $l))))

(func $rope (export "rope") (param $x i32) (param $heads i32) (param $hd i32) (param $cos i32) (param $sin i32)
  (local $h i32) (local $i i32) (local $half i32) (local $p0 i32) (local $p1 i32) (local $c f64) (local $s f64) (local $x0 f64) (local $x1 f64)
  (local.set $half (i32.shr_u (local.get $hd) (i32.const 1)))
  (block $hd_ (loop $hl
    (br_if $hd_ (i32.ge_u (local.get $h) (local.get $heads)))
    (local.set $i (i32.const 0))
    (block $id (loop $il
      (br_if $id (i32.ge_u (local.get $i) (local.get $half)))
      (local.set $p0 (i32.add (local.get $x) (i32.shl (i32.add (i32.mul (local.get $h) (local.get $hd)) (local.get $i)) (i32.const 2))))
      (local.set $p1 (i32.add (local.get $p0) (i32.shl (local.get $half) (i32.const 2))))
      (local.set $c (f64.load (i32.add (local.get $cos) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $s (f64.load (i32.add (local.get $sin) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $x0 (f64.promote_f32 (f32.load (local.get $p0))))
      (local.set $x1 (f64.promote_f32 (f32.load (local.get $p1))))
      (f32.store (local.get $p0) (f32.demote_f64 (f64.sub (f64.mul (local.get $x0) (local.get $c)) (f64.mul (local.get $x1) (local.get $s)))))
      (f32.store (local.get $p1) (f32.demote_f64 (f64.add (f64.mul (local.get $x1) (local.get $c)) (f64.mul (local.get $x0) (local.get $s)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $il)))
    (local.set $h (i32.add (local.get $h) (i32.const 1)))
    (br $hl))))

(func $dequant_f16 (export "dequant_f16") (param $src i32) (param $dst i32) (param $n i32)
  (local $end i32)
  (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
  (block $d (loop $l
    (br_if $d (i32.ge_u (local.get $dst) (local.get $end)))
    (f32.store (local.get $dst) (f32.load (i32.add (global.get $f16tab) (i32.shl (i32.load16_u (local.get $src)) (i32.const 2)))))
    (local.set $src (i32.add (local.get $src) (i32.const 2)))
    (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
    (br $l))))

(func $dequant_q8_0 (export "dequant_q8_0") (param $src i32) (param $dst i32) (param $n i32)
  (local $end i32) (local $d f32) (local $j i32)
  (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
  (block $d_ (loop $l
    (br_if $d_ (i32.ge_u (local.get $dst) (local.get $end)))
    (local.set $d (f32.load (i32.add (global.get $f16tab) (i32.shl (i32.load16_u (local.get $src)) (i32.const 2)))))
    (local.set $j (i32.const 0))
    (block $bd (loop $bl
      (br_if $bd (i32.ge_u (local.get $j) (i32.const 32)))
      (f32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
        (f32.mul (local.get $d) (f32.convert_i32_s (i32.load8_s offset=2 (i32.add (local.get $src) (local.get $j))))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $bl)))
    (local.set $src (i32.add (local.get $src) (i32.const 34)))
    (local.set $dst (i32.add (local.get $dst) (i32.const 128)))
    (br $l))))

(func $dequant_q4_0 (export "dequant_q4_0") (param $src i32) (param $dst i32) (param $n i32)
  (local $end i32) (local $d f32) (local $j i32) (local $q i32)
  (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
  (block $d_ (loop $l
    (br_if $d_ (i32.ge_u (local.get $dst) (local.get $end)))
    (local.set $d (f32.load (i32.add (global.get $f16tab) (i32.shl (i32.load16_u (local.get $src)) (i32.const 2)))))
    (local.set $j (i32.const 0))
    (block $bd (loop $bl
      (br_if $bd (i32.ge_u (local.get $j) (i32.const 16)))
      (local.set $q (i32.load8_u offset=2 (i32.add (local.get $src) (local.get $j))))
      (f32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
        (f32.mul (local.get $d) (f32.convert_i32_s (i32.sub (i32.and (local.get $q) (i32.const 15)) (i32.const 8)))))
      (f32.store offset=64 (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
        (f32.mul (local.get $d) (f32.convert_i32_s (i32.sub (i32.shr_u (local.get $q) (i32.const 4)) (i32.const 8)))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $bl)))
    (local.set $src (i32.add (local.get $src) (i32.const 18)))
    (local.set $dst (i32.add (local.get $dst) (i32.const 128)))
    (br $l))))
`;
