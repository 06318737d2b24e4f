/**
 * WebAssembly text of the per-row kernels around the matmuls. Norm and RoPE run in f64 as src/cpu/ops.ts
 * and rope.ts do, so they round as the oracle does (rmsnorm two lanes at a time); SwiGLU in f32x4 with
 * expF32x4, a few f32 ulps from the oracle. Addresses are i32 byte offsets.
 *
 *   rmsnorm(x, w, out, n, eps: f64)        out = w * (x / sqrt(mean(x^2) + eps))
 *   add(dst, src, n)                       dst += src (f32, as the oracle's f32 + f32)
 *   swiglu(gate, up, n)                    gate = silu(gate) * up, in f32x4 with expF32x4 (a few ulp of f32;
 *                                          it is a third of a decode step's non-matmul time in f64 scalar)
 *   rope(x, heads, headDim, cos, sin)      rotate-half RoPE; cos, sin: headDim/2 f64 for this position
 *   dequant_f16(src, dst, n) / dequant_q8_0(src, dst, n) / dequant_q4_0(src, dst, n)
 *                                          one embedding row to f32 (n elements; whole blocks)
 */
const f32x4 = (v: number): string => `(v128.const f32x4 ${v} ${v} ${v} ${v})`;

const EXP_CONSTANTS: ReadonlyArray<readonly [string, number]> = [
  ['lo', -104], ['hi', 89], ['log2e', 1.4426950408889634], ['ln2hi', 0.693359375], ['ln2lo', -2.12194440e-4],
  ['p0', 1.98756915e-4], ['p1', 1.39819995e-3], ['p2', 8.33345191e-3], ['p3', 4.16657959e-2], ['p4', 1.66666655e-1], ['p5', 5.00000012e-1], ['one', 1],
];

/** The v128 locals expF32x4 uses; a function that expands it declares them once. */
export const EXP_F32X4_LOCALS = `(local $ex_t v128) (local $ex_k v128) (local $ex_i v128) (local $ex_p v128) (local $ex_bias v128) ${EXP_CONSTANTS.map(([n]) => `(local $ex_${n} v128)`).join(' ')}`;

/**
 * Sets the constants expF32x4 reads, once at the top of the function: V8 rebuilds a v128.const at each
 * use (a few instructions each, a dozen per exp), while a local stays in a register or one load away.
 */
export const EXP_F32X4_INIT = `${EXP_CONSTANTS.map(([n, v]) => `(local.set $ex_${n} ${f32x4(v)})`).join(' ')} (local.set $ex_bias (v128.const i32x4 127 127 127 127))`;

/**
 * Statements that set v128 local `dst` to e^x lane by lane for the f32x4 expression `src` (Cephes'
 * expf: within 2 ulp of f32 for normal results). Inlined as text: V8 does not inline wasm calls
 * everywhere, and a call per vector would cost as much as the polynomial. x is clamped to [-104, 89]
 * first (pmin/pmax pass NaN through), so that k = round(x / ln2) stays in [-150, 128] and 2^k, built
 * from two normal f32 factors, gives 0 below f32's range and inf above it rather than garbage.
 */
export function expF32x4(src: string, dst: string): string {
  return `(local.set $ex_t (f32x4.pmin (f32x4.pmax ${src} (local.get $ex_lo)) (local.get $ex_hi)))
    (local.set $ex_k (f32x4.nearest (f32x4.mul (local.get $ex_t) (local.get $ex_log2e))))
    ;; r = x - k ln2, ln2 in two parts (the first exact in 9 bits, so that k * it is exact)
    (local.set $ex_t (f32x4.sub (f32x4.sub (local.get $ex_t) (f32x4.mul (local.get $ex_k) (local.get $ex_ln2hi)))
      (f32x4.mul (local.get $ex_k) (local.get $ex_ln2lo))))
    (local.set $ex_p (f32x4.add (f32x4.mul (local.get $ex_t) (local.get $ex_p0)) (local.get $ex_p1)))
    (local.set $ex_p (f32x4.add (f32x4.mul (local.get $ex_p) (local.get $ex_t)) (local.get $ex_p2)))
    (local.set $ex_p (f32x4.add (f32x4.mul (local.get $ex_p) (local.get $ex_t)) (local.get $ex_p3)))
    (local.set $ex_p (f32x4.add (f32x4.mul (local.get $ex_p) (local.get $ex_t)) (local.get $ex_p4)))
    (local.set $ex_p (f32x4.add (f32x4.mul (local.get $ex_p) (local.get $ex_t)) (local.get $ex_p5)))
    (local.set $ex_p (f32x4.add (f32x4.add (f32x4.mul (f32x4.mul (local.get $ex_p) (local.get $ex_t)) (local.get $ex_t)) (local.get $ex_t)) (local.get $ex_one)))
    ;; 2^k = 2^(k >> 1) * 2^(k - (k >> 1)): each factor's exponent within [-75, 64]
    (local.set $ex_i (i32x4.trunc_sat_f32x4_s (local.get $ex_k)))
    (local.set $ex_k (i32x4.shr_s (local.get $ex_i) (i32.const 1)))
    (local.set ${dst} (f32x4.mul (f32x4.mul (local.get $ex_p)
        (i32x4.shl (i32x4.add (local.get $ex_k) (local.get $ex_bias)) (i32.const 23)))
      (i32x4.shl (i32x4.add (i32x4.sub (local.get $ex_i) (local.get $ex_k)) (local.get $ex_bias)) (i32.const 23))))`;
}

/** silu(g) * up = g / (1 + e^-g) * up lane by lane; e^-g overflows to inf for g < -88.7, giving -0 as the oracle's f64 rounds to. */
const swigluF32x4 = (g: string, up: string): string => `${expF32x4(`(f32x4.neg ${g})`, '$e')}
    (f32x4.mul (f32x4.div ${g} (f32x4.add (local.get $ex_one) (local.get $e))) ${up})`;

export const elementwiseWat = `
(func $rmsnorm (export "rmsnorm") (param $x i32) (param $w i32) (param $out i32) (param $n i32) (param $eps f64)
  ;; f64 as ops.ts, two lanes at a time: squares of f32 are exact in f64, only the sum's order differs
  ;; (four partial sums), which moves the scale by ~1e-16 relative; the products round as the oracle's.
  (local $i i32) (local $vEnd i32) (local $v v128) (local $lo v128) (local $hi v128) (local $s0 v128) (local $s1 v128)
  (local $ss f64) (local $scale f64) (local $scale2 v128)
  (local.set $vEnd (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
  (block $d (loop $l
    (br_if $d (i32.ge_u (local.get $i) (local.get $vEnd)))
    (local.set $v (v128.load align=4 (i32.add (local.get $x) (local.get $i))))
    (local.set $lo (f64x2.promote_low_f32x4 (local.get $v)))
    (local.set $hi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
    (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (local.get $lo) (local.get $lo))))
    (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (local.get $hi) (local.get $hi))))
    (local.set $i (i32.add (local.get $i) (i32.const 16)))
    (br $l)))
  (local.set $s0 (f64x2.add (local.get $s0) (local.get $s1)))
  (local.set $ss (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0))))
  (block $d1 (loop $l1
    (br_if $d1 (i32.ge_u (local.get $i) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $scale (f64.promote_f32 (f32.load (i32.add (local.get $x) (local.get $i)))))
    (local.set $ss (f64.add (local.get $ss) (f64.mul (local.get $scale) (local.get $scale))))
    (local.set $i (i32.add (local.get $i) (i32.const 4)))
    (br $l1)))
  (local.set $scale (f64.div (f64.const 1) (f64.sqrt (f64.add (f64.div (local.get $ss) (f64.convert_i32_u (local.get $n))) (local.get $eps)))))
  (local.set $scale2 (f64x2.splat (local.get $scale)))
  (local.set $i (i32.const 0))
  (block $d2 (loop $l2
    (br_if $d2 (i32.ge_u (local.get $i) (local.get $vEnd)))
    (local.set $v (v128.load align=4 (i32.add (local.get $x) (local.get $i))))
    (local.set $s0 (v128.load align=4 (i32.add (local.get $w) (local.get $i))))
    (local.set $lo (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (local.get $s0))
      (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (local.get $scale2)))))
    (local.set $hi (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $s0) (local.get $s0)))
      (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $scale2)))))
    (v128.store align=4 (i32.add (local.get $out) (local.get $i))
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $lo) (local.get $hi)))
    (local.set $i (i32.add (local.get $i) (i32.const 16)))
    (br $l2)))
  (block $d3 (loop $l3
    (br_if $d3 (i32.ge_u (local.get $i) (i32.shl (local.get $n) (i32.const 2))))
    (f32.store (i32.add (local.get $out) (local.get $i))
      (f32.demote_f64 (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $w) (local.get $i))))
        (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $x) (local.get $i)))) (local.get $scale)))))
    (local.set $i (i32.add (local.get $i) (i32.const 4)))
    (br $l3))))

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
  (local $end i32) (local $vEnd i32) (local $g v128) (local $e v128) ${EXP_F32X4_LOCALS}
  ${EXP_F32X4_INIT}
  (local.set $end (i32.add (local.get $gate) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vEnd (i32.add (local.get $gate) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $d (loop $l
    (br_if $d (i32.ge_u (local.get $gate) (local.get $vEnd)))
    (local.set $g (v128.load align=4 (local.get $gate)))
    (v128.store align=4 (local.get $gate) ${swigluF32x4('(local.get $g)', '(v128.load align=4 (local.get $up))')})
    (local.set $gate (i32.add (local.get $gate) (i32.const 16)))
    (local.set $up (i32.add (local.get $up) (i32.const 16)))
    (br $l)))
  ;; n % 4 tail: the same lanes on a splat, so that every element rounds alike
  (block $d2 (loop $l2
    (br_if $d2 (i32.ge_u (local.get $gate) (local.get $end)))
    (local.set $g (f32x4.splat (f32.load (local.get $gate))))
    (f32.store (local.get $gate) (f32x4.extract_lane 0 ${swigluF32x4('(local.get $g)', '(f32x4.splat (f32.load (local.get $up)))')}))
    (local.set $gate (i32.add (local.get $gate) (i32.const 4)))
    (local.set $up (i32.add (local.get $up) (i32.const 4)))
    (br $l2))))

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
