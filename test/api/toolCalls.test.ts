import Ajv from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FolioEngine } from '../../src/api/FolioEngine.ts';
import type { ChatCompletionChunk, ToolDefinition } from '../../src/api/openai.ts';
import { cpuEngine } from '../engine/engineHarness.ts';

/** Issue 16: tools and tool_choice through chat.completions on stories260K (cpu). */
let api: FolioEngine;
beforeAll(async () => {
  ({ api } = await cpuEngine());
});

const weather: ToolDefinition = {
  type: 'function',
  function: {
    name: 'get_weather',
    parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, unit: { enum: ['c', 'f'] } }, required: ['city', 'unit'], additionalProperties: false },
  },
};
const time: ToolDefinition = { type: 'function', function: { name: 'get_time' } };
const messages = [{ role: 'user' as const, content: 'What is the weather in Paris?' }];
const validArgs = new Ajv({ strict: false }).compile(weather.function.parameters!);

describe('tool calls', () => {
  it('a forced function yields a valid tool_calls entry (not streamed), and the answer goes back as a tool message', async () => {
    for (const seed of [1, 2, 3]) {
      const r = await api.chat.completions.create({ messages, tools: [weather, time], tool_choice: { type: 'function', function: { name: 'get_weather' } }, temperature: 1, seed, max_tokens: 90 });
      const c = r.choices[0];
      expect(c.finish_reason).toBe('tool_calls');
      expect(c.message.content).toBeNull();
      const call = c.message.tool_calls![0];
      expect(call.type).toBe('function');
      expect(call.id).toMatch(/^call_/);
      expect(call.function.name).toBe('get_weather');
      expect(validArgs(JSON.parse(call.function.arguments))).toBe(true);
      // The round trip: the call and its result in the history of the next request.
      const next = await api.chat.completions.create({
        messages: [...messages, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: '{"temp": 21}' }],
        max_tokens: 8,
        temperature: 0,
      });
      expect(next.choices[0].finish_reason).not.toBe('tool_calls');
      expect(typeof next.choices[0].message.content).toBe('string');
    }
  });

  it('streamed: deltas carry id and name, then the arguments, then finish_reason tool_calls', async () => {
    const stream = await api.chat.completions.create({ messages, tools: [weather], tool_choice: 'required', temperature: 1, seed: 5, max_tokens: 80, stream: true });
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const deltas = chunks.flatMap((c) => c.choices.map((x) => x.delta));
    const first = deltas.find((d) => d.tool_calls)!.tool_calls![0];
    expect(first).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather' } });
    expect(first.id).toMatch(/^call_/);
    const args = deltas.flatMap((d) => d.tool_calls ?? []).map((t) => t.function.arguments).join('');
    expect(validArgs(JSON.parse(args))).toBe(true);
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('tool_calls');
  });

  it("tool_choice 'none' and 'auto' leave the reply free text; bad tools are refused by name", async () => {
    const none = await api.chat.completions.create({ messages, tools: [weather], tool_choice: 'none', temperature: 0, max_tokens: 6 });
    expect(none.choices[0].finish_reason).not.toBe('tool_calls');
    expect(none.choices[0].message.content!.length).toBeGreaterThan(0);
    const auto = await api.chat.completions.create({ messages, tools: [weather], temperature: 0, max_tokens: 6 });
    expect(auto.choices[0].message.content!.startsWith('{')).toBe(false); // this story model does not call
    await expect(api.chat.completions.create({ messages, tools: [weather], tool_choice: { type: 'function', function: { name: 'nope' } } })).rejects.toMatchObject({ name: 'InvalidParamsError', param: 'tool_choice' });
    await expect(api.chat.completions.create({ messages, tools: [{ type: 'function', function: { name: 'bad name' } }] })).rejects.toMatchObject({ param: 'tools[0].function.name' });
    await expect(api.chat.completions.create({ messages: [{ role: 'tool', content: 'x' }] } as never)).rejects.toMatchObject({ param: 'messages[0].tool_call_id' });
  });
});
