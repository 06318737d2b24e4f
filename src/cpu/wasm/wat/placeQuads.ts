import { type KernelFormat, unitBytes } from './decoders.ts';

/**
 * WebAssembly text of place_quads_<fmt>(at, rows, rowBytes, scratch): rearranges a tensor written
 * row-major at `at` into the matmul's quad layout (matmul.ts, rowQuads.ts) in place. Each whole quad
 * of rows is copied to `scratch` (4 * rowBytes bytes, not overlapping the tensor), then unit u of
 * row i goes back to 4u + i; rows past the last quad stay. The unit copy is unrolled into loads and
 * stores of the format's unit size (16, 8, 34 or 18 bytes), as a JavaScript loop over the bytes ran
 * at 0.1-0.2 GB/s (seconds for a model).
 */
export function placeQuadsWat(format: KernelFormat): string {
  const unit = unitBytes(format);
  const pieces: [string, string, number][] = [];
  for (let off = 0; off < unit; ) {
    const size = unit - off >= 16 ? 16 : unit - off >= 8 ? 8 : unit - off >= 4 ? 4 : 2;
    const [load, store] = size === 16 ? ['v128.load', 'v128.store'] : size === 8 ? ['i64.load', 'i64.store'] : size === 4 ? ['i32.load', 'i32.store'] : ['i32.load16_u', 'i32.store16'];
    pieces.push([load, store, off]);
    off += size;
  }
  const copy = pieces.map(([load, store, off]) => `(${store} offset=${off} align=1 (local.get $dst) (${load} offset=${off} align=1 (local.get $src)))`).join('\n        ');
  return `
(func $place_quads_${format} (export "place_quads_${format}") (param $at i32) (param $rows i32) (param $rowBytes i32) (param $scratch i32)
  (local $q i32) (local $end i32) (local $i i32) (local $src i32) (local $dst i32) (local $rowEnd i32)
  (local.set $q (local.get $at))
  (local.set $end (i32.add (local.get $at) (i32.mul (i32.and (local.get $rows) (i32.const -4)) (local.get $rowBytes))))
  (block $done (loop $quads
    (br_if $done (i32.ge_u (local.get $q) (local.get $end)))
    (memory.copy (local.get $scratch) (local.get $q) (i32.shl (local.get $rowBytes) (i32.const 2)))
    (local.set $i (i32.const 0))
    (loop $rowsOfQuad
      (local.set $src (i32.add (local.get $scratch) (i32.mul (local.get $i) (local.get $rowBytes))))
      (local.set $rowEnd (i32.add (local.get $src) (local.get $rowBytes)))
      (local.set $dst (i32.add (local.get $q) (i32.mul (local.get $i) (i32.const ${unit}))))
      (block $rowDone (loop $units
        (br_if $rowDone (i32.ge_u (local.get $src) (local.get $rowEnd)))
        ${copy}
        (local.set $src (i32.add (local.get $src) (i32.const ${unit})))
        (local.set $dst (i32.add (local.get $dst) (i32.const ${4 * unit})))
        (br $units)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $rowsOfQuad (i32.lt_u (local.get $i) (i32.const 4))))
    (local.set $q (i32.add (local.get $q) (i32.shl (local.get $rowBytes) (i32.const 2))))
    (br $quads))))
`;
}
