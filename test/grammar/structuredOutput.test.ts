import Ajv from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FolioEngine } from '../../src/api/FolioEngine.ts';
import type { Engine } from '../../src/engine/Engine.ts';
import { ARITHMETIC_GBNF, EXAMPLE_SCHEMAS } from '../../src/grammar/exampleSchemas.ts';
import { cpuEngine } from '../engine/engineHarness.ts';

/**
 * Issue 16 on the CPU engine over stories260K, a model that knows nothing of JSON: seeded
 * samples at temperature 1 under each schema all parse and validate with Ajv. (The bench runs
 * 200 per schema: src/bench/grammarMask.ts.)
 */
let engine: Engine;
let api: FolioEngine;
beforeAll(async () => {
  ({ engine, api } = await cpuEngine());
});

const SAMPLES = 6;
const ajv = new Ajv({ strict: false });

async function samples(extra: object, count = SAMPLES): Promise<{ text: string; finish: string }[]> {
  const runs = Array.from({ length: count }, (_, seed) =>
    api.chat.completions.create({ messages: [{ role: 'user', content: 'Once upon a time' }], temperature: 1, seed, max_tokens: 200, ...extra }),
  );
  return (await Promise.all(runs)).map((r) => ({ text: r.choices[0].message.content ?? '', finish: r.choices[0].finish_reason }));
}

describe('response_format json_schema on cpu', () => {
  for (const [name, schema] of Object.entries(EXAMPLE_SCHEMAS)) {
    it(`${name}: every seeded sample parses and validates`, async () => {
      const validate = ajv.compile(schema);
      const out = await samples({ response_format: { type: 'json_schema', json_schema: { name, schema, strict: true } } });
      for (const { text, finish } of out) {
        expect(finish).toBe('stop');
        const value: unknown = JSON.parse(text);
        expect(validate(value), `${text}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      }
      // Temperature 1 explores: the samples are not all one text.
      expect(new Set(out.map((o) => o.text)).size).toBeGreaterThan(1);
    });
  }

  it('json_object gives a JSON object (closed sooner with logit_bias on " and }: this model never ends a free string on its own)', async () => {
    const idsOf = (text: string) => Array.from({ length: engine.tokenizer.vocabSize }, (_, id) => id).filter((id) => engine.tokenizer.decode([id]) === text);
    const bias = Object.fromEntries([...idsOf('"'), ...idsOf('}')].map((id) => [id, 6]));
    expect(Object.keys(bias).length).toBeGreaterThanOrEqual(2);
    const out = await samples({ response_format: { type: 'json_object' }, logit_bias: bias, max_tokens: 300 }, 6);
    for (const { text, finish } of out) {
      expect(finish).toBe('stop');
      const v: unknown = JSON.parse(text);
      expect(typeof v === 'object' && v !== null && !Array.isArray(v)).toBe(true);
    }
  });

  it('n > 1: each choice follows the schema from the fork on', async () => {
    const schema = EXAMPLE_SCHEMAS.enums;
    const validate = ajv.compile(schema);
    const r = await api.chat.completions.create({ messages: [{ role: 'user', content: 'Tom' }], n: 4, temperature: 1, seed: 11, max_tokens: 120, response_format: { type: 'json_schema', json_schema: { name: 'e', schema } } });
    for (const c of r.choices) expect(validate(JSON.parse(c.message.content!))).toBe(true);
    expect(new Set(r.choices.map((c) => c.message.content)).size).toBeGreaterThan(1);
  });

  it('a GBNF grammar (arithmetic) holds on text completions too, and the expressions evaluate', async () => {
    const runs = await Promise.all(Array.from({ length: SAMPLES }, (_, seed) => api.completions.create({ prompt: 'Lily', temperature: 1, seed, max_tokens: 80, grammar: ARITHMETIC_GBNF })));
    for (const r of runs) {
      const text = r.choices[0].text;
      expect(r.choices[0].finish_reason).toBe('stop');
      expect(text).toMatch(/^[0-9+\-*/()]+$/);
      expect(Number.isNaN(Number(Function(`return (${text})`)()))).toBe(false);
    }
  });

  it('an uncompilable schema or grammar is a GrammarError naming the construct; the engine goes on', async () => {
    const bad = (schema: Record<string, unknown>) => api.chat.completions.create({ messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } });
    await expect(bad({ type: 'object', oneOf: [] })).rejects.toMatchObject({ name: 'GrammarError', construct: 'oneOf' });
    await expect(bad({ type: 'string', pattern: '^(?=a)b$' })).rejects.toMatchObject({ name: 'GrammarError', construct: 'pattern lookahead (?=, ?!, ?<=, ?<!)'.replace('lookahead', 'lookaround') });
    await expect(api.completions.create({ prompt: 'x', grammar: 'root ::= root "a"' })).rejects.toMatchObject({ name: 'GrammarError', construct: 'left recursion', param: 'grammar' });
    await expect(api.completions.create({ prompt: 'x', grammar: 'root ::= "a" b' })).rejects.toMatchObject({ name: 'GrammarError', construct: 'undefined rule' });
    const ok = await api.completions.create({ prompt: 'Lily', max_tokens: 3, temperature: 0 });
    expect(ok.choices[0].text.length).toBeGreaterThan(0);
  });

  it('a character no whole token holds is written byte by byte (byte-fallback tokens), and decodes whole', async () => {
    // U+4E00 and U+00E9 are not in stories260K's 512 tokens: only <0xE4> <0xB8> <0x80> and <0xC3> <0xA9> write them.
    const runs = await Promise.all([0, 1, 2].map((seed) => api.completions.create({ prompt: 'Lily', temperature: 1, seed, max_tokens: 12, grammar: 'root ::= [a-z]{1,3} ( "\u4e00" | "\u00e9" ) "!"' })));
    for (const r of runs) {
      expect(r.choices[0].finish_reason).toBe('stop');
      expect(r.choices[0].text).toMatch(/^[a-z]{1,3}[\u4e00\u00e9]!$/u);
    }
  });

  it('a grammar no token can continue ends that request with a GrammarDeadEndError', async () => {
    // Surrogates are not characters: no well-formed UTF-8 byte sequence writes one.
    await expect(api.completions.create({ prompt: 'Lily', max_tokens: 5, grammar: 'root ::= "a" [\ud800-\udfff]' })).rejects.toMatchObject({ name: 'GrammarDeadEndError' });
    expect(engine.scheduler.hasWork).toBe(false);
  });
});
