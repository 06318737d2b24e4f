import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolioEngine } from '../../src/api/FolioEngine.ts';
import type { Engine } from '../../src/engine/Engine.ts';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { ARITHMETIC_GBNF, EXAMPLE_SCHEMAS } from '../../src/grammar/exampleSchemas.ts';
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

/** Samples per schema in the batched webgpu test (the bench runs 200: src/bench/grammarMask.ts). */
const PER_SCHEMA = 4;
const EXAMPLE_SCHEMAS_COUNT = Object.keys(EXAMPLE_SCHEMAS).length;

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
    const schema = EXAMPLE_SCHEMAS.ranges;
    const validate = ajv.compile(schema);
    const reqs = [0, 1].map((seed) => ({ temperature: 1, seed, max_tokens: 120, response_format: { type: 'json_schema', json_schema: { name: 'ranges', schema } } }));
    const free = { temperature: 1, seed: 9, max_tokens: 30 };
    const [freeText, ...got] = await Promise.all([text(gpu.api, free), ...reqs.map((r) => text(gpu.api, r))]);
    expect(freeText).toBe(await text(cpu.api, free));
    for (const [i, r] of reqs.entries()) {
      expect(validate(JSON.parse(got[i]))).toBe(true);
      expect(got[i]).toBe(await text(cpu.api, r));
    }
    expect(seen.forward).toBe(0);
  });

  it(`${PER_SCHEMA} samples per schema, the arithmetic grammar and a non-ASCII grammar, all in one batch on webgpu: each parses and validates`, async () => {
    const ajv = new Ajv({ strict: false });
    const seen = watch(gpu.engine);
    const seeds = Array.from({ length: PER_SCHEMA }, (_, i) => 100 + i);
    const schemaRuns = Object.entries(EXAMPLE_SCHEMAS).flatMap(([name, schema]) =>
      seeds.map(async (seed) => {
        const r = await gpu.api.chat.completions.create({ messages: [{ role: 'user', content: 'Once upon a time' }], temperature: 1, seed, max_tokens: 200, response_format: { type: 'json_schema', json_schema: { name, schema } } });
        return { name, finish: r.choices[0].finish_reason, text: r.choices[0].message.content ?? '' };
      }),
    );
    const grammarRuns = seeds.map(async (seed) => (await gpu.api.completions.create({ prompt: 'Lily', temperature: 1, seed, max_tokens: 200, grammar: ARITHMETIC_GBNF })).choices[0]);
    const utf8 = Promise.all([5, 6, 7].map(async (seed) => (await gpu.api.completions.create({ prompt: 'Lily', temperature: 1, seed, max_tokens: 12, grammar: 'root ::= [a-z]{1,3} ( "\\u4e00" | "\\u00e9" ) "!"' })).choices[0]));
    const [schemaOut, grammarOut, utf8Out] = await Promise.all([Promise.all(schemaRuns), Promise.all(grammarRuns), utf8]);
    for (const { name, finish, text } of schemaOut) {
      expect(finish, text).toBe('stop');
      const validate = ajv.compile(EXAMPLE_SCHEMAS[name]);
      expect(validate(JSON.parse(text)), `${name}: ${text}`).toBe(true);
    }
    for (const c of grammarOut) {
      expect(c.finish_reason).toBe('stop');
      expect(c.text).toMatch(/^[0-9+\-*/()]+$/);
      expect(Number.isFinite(Number(Function(`return (${c.text})`)())) || c.text.includes('/')).toBe(true);
    }
    for (const c of utf8Out) expect(c.text).toMatch(/^[a-z]{1,3}[\u4e00\u00e9]!$/u);
    expect(new Set(schemaOut.map((o) => o.text)).size).toBeGreaterThan(EXAMPLE_SCHEMAS_COUNT * 2);
    expect(seen.forward).toBe(0);
  });
});
