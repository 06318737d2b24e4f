import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/cpu/CpuBackend.ts';
import { createCpuBackend } from '../../src/cpu/cpuKernels.ts';
import { relaxedSimdAvailable } from '../../src/cpu/wasm/kernels.ts';
import { WasmCpuBackend } from '../../src/cpu/wasm/WasmCpuBackend.ts';
import { parseConfig } from '../../src/model/config.ts';
import { parseLlama2cCheckpoint } from '../../src/model/llama2c/checkpoint.ts';
import { huggingFaceConfig, huggingFaceTensors } from '../../src/model/llama2c/toHuggingFace.ts';
import { syntheticWeights } from '../../src/model/synthetic.ts';
import { argmax } from '../../src/sampling/argmax.ts';
import { prng } from '../gpu/randomModel.ts';
import { SHARED } from '../paths.ts';
import { packWeights, relativeError } from './packWeights.ts';
import { expectSameLogits, opts, qwenish, steps } from './wasmSteps.ts';

const base = syntheticWeights(qwenish, prng(11), { std: 0.08 });

describe('the relaxed-SIMD kernel variant (f32x4.relaxed_madd in the matmuls)', () => {
  it('is chosen by feature detection; plain SIMD can be asked for; relaxed is refused where the engine lacks it', async () => {
    const auto = await WasmCpuBackend.create(base, opts);
    expect(auto.simd).toBe(relaxedSimdAvailable() ? 'relaxed' : 'plain');
    expect((await WasmCpuBackend.create(base, { ...opts, simd: 'plain' })).simd).toBe('plain');
    if (!relaxedSimdAvailable()) await expect(WasmCpuBackend.create(base, { ...opts, simd: 'relaxed' })).rejects.toThrow(/relaxed SIMD/);
  });

  it('where the engine has it (V8 flag in Node 20): every format within 1e-5 of the oracle, 2 threads bit-identical, the llama2.c fixture exact', async () => {
    if (!relaxedSimdAvailable()) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    expect(relaxedSimdAvailable()).toBe(true);
    for (const format of ['F32', 'F16', 'Q8_0', 'Q4_0'] as const) {
      const w = format === 'F32' ? base : packWeights(base, format);
      const js = new CpuBackend(w, opts);
      const relaxed = await WasmCpuBackend.create(w, opts);
      expect(relaxed.simd).toBe('relaxed');
      for (const batch of steps()) {
        const [a, b] = [await js.forward(batch), await relaxed.forward(batch)];
        a.forEach((ref, i) => expect(relativeError(ref, b[i])).toBeLessThan(1e-5));
      }
    }
    const w = packWeights(base, 'Q4_0');
    const one = await WasmCpuBackend.create(w, { ...opts, simd: 'relaxed' });
    const two = await WasmCpuBackend.create(w, { ...opts, simd: 'relaxed', threads: 2, minSplitWeights: 0 });
    try {
      await expectSameLogits(one, two);
    } finally {
      two.dispose();
    }

    const fixture = JSON.parse(readFileSync(`${SHARED}/fixtures/stories260K-greedy.json`, 'utf8')) as { next_ids: number[]; positions: number };
    const ckpt = parseLlama2cCheckpoint(readFileSync(`${SHARED}/models/stories260K/stories260K.bin`));
    const tensors = new Map<string, Float32Array>();
    for (const [name, t] of huggingFaceTensors(ckpt)) tensors.set(name, new Float32Array(t.bytes.slice().buffer));
    const stories = { config: parseConfig(huggingFaceConfig(ckpt)), tensors, fingerprint: 'test' };
    const { backend, description } = await createCpuBackend(stories, { blockSize: 16, numBlocks: Math.ceil(fixture.positions / 16) }, { kernels: 'wasm' });
    expect(description).toMatch(/^CPU \(WebAssembly relaxed SIMD, 1 thread/);
    const table = Array.from({ length: backend.numBlocks }, (_, i) => i);
    const ids = [1];
    for (let pos = 0; pos < fixture.next_ids.length; pos++) {
      const [logits] = await backend.forward({ chunks: [{ tokens: [ids[pos]], startPos: pos, blockTable: table }], logits: 'last' });
      ids.push(pos < 4 ? fixture.next_ids[pos] : argmax(logits));
    }
    expect(ids.slice(1)).toEqual(fixture.next_ids);
  });
});
