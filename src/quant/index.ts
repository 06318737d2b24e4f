// The quant room: weight formats as data. Pure TypeScript (no WebGPU, no DOM): block layouts of ggml's
// formats, their dequantizers (the CPU reference every kernel is checked against) and quantizers.
export type { WeightFormat, FormatInfo } from './formats.ts';
export { FORMATS, formatOfGgmlType, packedBytes, QK, QK_K } from './formats.ts';
export { dequantize, quantize } from './codec.ts';
export { halfToFloat, floatToHalf, bf16ToFloat, floatToBf16, f16Table } from './half.ts';
