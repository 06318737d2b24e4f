import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/cpu/CpuBackend.ts';
import { createCpuBackend } from '../../src/cpu/cpuKernels.ts';
import { WasmCpuBackend } from '../../src/cpu/wasm/WasmCpuBackend.ts';
import { InvalidParamsError } from '../../src/errors.ts';
import { syntheticWeights } from '../../src/model/synthetic.ts';
import { prng, storiesConfig } from '../gpu/randomModel.ts';

const kv = { blockSize: 4, numBlocks: 4 };
/** A head of 6: not a whole number of 4-lane vectors, which the WebAssembly attention assumes. */
const oddHeads = syntheticWeights({ ...storiesConfig, hiddenSize: 24, numHeads: 4, numKvHeads: 2, headDim: 6, intermediateSize: 32, vocabSize: 40, numLayers: 1 }, prng(3));
const stories = syntheticWeights({ ...storiesConfig, numLayers: 1 }, prng(4));

describe('choosing the CPU kernels', () => {
  it('runs WebAssembly by default and says so; js when asked', async () => {
    const wasm = await createCpuBackend(stories, kv);
    expect(wasm.backend).toBeInstanceOf(WasmCpuBackend);
    expect(wasm.description).toBe('CPU (WebAssembly SIMD, 1 thread; f32 weights)');
    const js = await createCpuBackend(stories, kv, { kernels: 'js' });
    expect(js.backend).toBeInstanceOf(CpuBackend);
    expect(js.description).toMatch(/TypeScript kernels, as asked/);
  });

  it('falls back to the TypeScript kernels with the reason by default; refuses by name when wasm was asked for', async () => {
    const fallback = await createCpuBackend(oddHeads, kv);
    expect(fallback.kernels).toBe('js');
    expect(fallback.description).toMatch(/TypeScript kernels: .*head dimension 6 is not a multiple of 4/);
    await expect(createCpuBackend(oddHeads, kv, { kernels: 'wasm' })).rejects.toThrow(InvalidParamsError);
    await expect(createCpuBackend(stories, kv, { kernels: 'gpu' as 'js' })).rejects.toMatchObject({ param: 'cpu.kernels' });
  });
});
