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

  it(`${PER_SCHEMA} samples per schema, the arithmetic grammar, a non-ASCII grammar and a free request in one batch on webgpu: each parses and validates, ids equal the CPU engine's, only ids read back`, async () => {
    const ajv = new Ajv({ strict: false });
    const seen = watch(gpu.engine);
    const seeds = Array.from({ length: PER_SCHEMA }, (_, i) => 100 + i);
    const schemaReqs = Object.entries(EXAMPLE_SCHEMAS).flatMap(([name, schema]) =>
      seeds.map((seed) => ({ name, req: { messages: [{ role: 'user' as const, content: 'Once upon a time' }], temperature: 1, seed, max_tokens: 200, response_format: { type: 'json_schema' as const, json_schema: { name, schema } } } })),
    );
    const chat = async (api: FolioEngine, req: (typeof schemaReqs)[number]['req']) => (await api.chat.completions.create(req)).choices[0];
    const free = { temperature: 1, seed: 9, max_tokens: 30 };
    const grammarRuns = seeds.map(async (seed) => (await gpu.api.completions.create({ prompt: 'Lily', temperature: 1, seed, max_tokens: 200, grammar: ARITHMETIC_GBNF })).choices[0]);
    const utf8 = Promise.all([5, 6, 7].map(async (seed) => (await gpu.api.completions.create({ prompt: 'Lily', temperature: 1, seed, max_tokens: 12, grammar: 'root ::= [a-z]{1,3} ( "\\u4e00" | "\\u00e9" ) "!"' })).choices[0]));
    const [schemaOut, grammarOut, utf8Out, freeText] = await Promise.all([Promise.all(schemaReqs.map(({ req }) => chat(gpu.api, req))), Promise.all(grammarRuns), utf8, text(gpu.api, free)]);
    expect(seen.forward).toBe(0);
    for (const [i, c] of schemaOut.entries()) {
      const { name } = schemaReqs[i];
      expect(c.finish_reason, c.message.content ?? '').toBe('stop');
      const validate = ajv.compile(EXAMPLE_SCHEMAS[name]);
      expect(validate(JSON.parse(c.message.content ?? '')), `${name}: ${c.message.content}`).toBe(true);
    }
    for (const c of grammarOut) {
      expect(c.finish_reason).toBe('stop');
      expect(c.text).toMatch(/^[0-9+\-*/()]+$/);
      expect(Number.isNaN(Number(Function(`return (${c.text})`)()))).toBe(false);
    }
    for (const c of utf8Out) expect(c.text).toMatch(/^[a-z]{1,3}[\u4e00\u00e9]!$/u);
    expect(new Set(schemaOut.map((c) => c.message.content)).size).toBeGreaterThan(EXAMPLE_SCHEMAS_COUNT * 2);
    // The same seeds on the CPU engine (host masks and sampling) give the same text.
    const ranges = schemaReqs.filter((r) => r.name === 'ranges').slice(0, 2);
    const [cpuFree, cpuRanges] = await Promise.all([text(cpu.api, free), Promise.all(ranges.map(({ req }) => chat(cpu.api, req)))]);
    expect(freeText).toBe(cpuFree);
    ranges.forEach((r, i) => expect(schemaOut[schemaReqs.indexOf(r)].message.content).toBe(cpuRanges[i].message.content));
  });
});
