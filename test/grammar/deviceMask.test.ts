import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolioEngine } from '../../src/api/FolioEngine.ts';
import type { Engine } from '../../src/engine/Engine.ts';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { EXAMPLE_SCHEMAS } from '../../src/grammar/exampleSchemas.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { DEFAULT_MODEL } from '../paths.ts';

/**
 * Penalties, biases and grammar masks on the device (wgsl/logit_adjust.wgsl before
 * wgsl/sample.wgsl), against the CPU engine as the oracle, on stories260K through Dawn.
 */
async function engineOn(backend: 'cpu' | 'webgpu'): Promise<{ engine: Engine; api: FolioEngine }> {
  const engine = await loadEngine({ source: new FolderSource(DEFAULT_MODEL), backend, gpu: backend === 'webgpu' ? dawnGpu() : undefined });
  return { engine, api: new FolioEngine(engine) };
}

/** Counts forward calls by kind: a step that reads logits goes through `forward`. */
function watch(engine: Engine): Record<'forward' | 'forwardSample', number> {
  const b = engine.backend;
  const calls = { forward: 0, forwardSample: 0 };
  const forward = b.forward.bind(b);
  b.forward = (batch) => (calls.forward++, forward(batch));
  const sample = b.forwardSample!.bind(b);
  b.forwardSample = (batch, rows) => (calls.forwardSample++, sample(batch, rows));
  return calls;
}

let cpu: { engine: Engine; api: FolioEngine };
let gpu: { engine: Engine; api: FolioEngine };
beforeAll(async () => {
  cpu = await engineOn('cpu');
  gpu = await engineOn('webgpu');
});
afterAll(() => {
  cpu.engine.backend.dispose();
  gpu.engine.backend.dispose();
});

const text = async (api: FolioEngine, r: object) => (await api.completions.create({ prompt: 'Lily', max_tokens: 30, ...r })).choices[0].text;

describe('logit adjustments and masks on the device', () => {
  it('seeded outputs with frequency/presence penalties and logit_bias equal the CPU engine, one id read per step', async () => {
    const requests = [
      { temperature: 0, frequency_penalty: 1.5 },
      { temperature: 0.9, seed: 3, presence_penalty: 1.2, frequency_penalty: 0.4 },
      { temperature: 1, seed: 8, top_p: 0.9, logit_bias: { 10: 5, 11: -100, 300: 2.5 } },
      { temperature: 0, logit_bias: { 265: -100, 283: -100 }, presence_penalty: -1 },
    ];
    const seen = watch(gpu.engine);
    const want: string[] = [];
    for (const r of requests) want.push(await text(cpu.api, r));
    const together = await Promise.all(requests.map((r) => text(gpu.api, r)));
    expect(together).toEqual(want);
    expect(new Set(want).size).toBe(requests.length);
    expect(seen.forward).toBe(0);
    expect(seen.forwardSample).toBeGreaterThan(25);
  });

  it('schema-constrained samples batch with free ones on webgpu, validate, equal the CPU engine, and read back ids only', async () => {
    const ajv = new Ajv({ strict: false });
    const seen = watch(gpu.engine);
    for (const name of ['ranges']) {
      const schema = EXAMPLE_SCHEMAS[name];
      const validate = ajv.compile(schema);
      const reqs = [0, 1].map((seed) => ({ temperature: 1, seed, max_tokens: 120, response_format: { type: 'json_schema', json_schema: { name, schema } } }));
      const free = { temperature: 1, seed: 9, max_tokens: 30 };
      const [freeText, ...got] = await Promise.all([text(gpu.api, free), ...reqs.map((r) => text(gpu.api, r))]);
      expect(freeText).toBe(await text(cpu.api, free));
      for (const [i, r] of reqs.entries()) {
        expect(validate(JSON.parse(got[i]))).toBe(true);
        expect(got[i]).toBe(await text(cpu.api, r));
      }
    }
    expect(seen.forward).toBe(0);
  });
});
