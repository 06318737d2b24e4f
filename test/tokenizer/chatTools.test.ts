import { describe, expect, it } from 'vitest';
import { encodeToolChat, parseToolCall, type ToolRequest } from '../../src/api/tools.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { forbidNetwork, tok512Files } from './stories.ts';

forbidNetwork();

// The shape of Qwen2.5's template, cut down: tools listed in the system turn when given.
const WITH_TOOLS =
  "{% if tools %}{{ '<|im_start|>system\\nTools:' }}{% for t in tools %}{{ ' ' + t['function']['name'] }}{% endfor %}{{ '<|im_end|>\\n' }}{% endif %}" +
  "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const WITHOUT_TOOLS = "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}";

const weather: ToolRequest = {
  tools: [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }, { name: 'get_time' }],
  mode: 'auto',
  only: null,
};
const messages = [{ role: 'user' as const, content: 'Weather in Paris?' }];

describe('tools in the chat prompt', () => {
  it("lets a template that renders tools list them, as Hugging Face's apply_chat_template does", () => {
    const tokenizer = Tokenizer.fromJson(tok512Files.tokenizerJson, { ...tok512Files.tokenizerConfig, chat_template: WITH_TOOLS });
    expect(tokenizer.templateRendersTools).toBe(true);
    const text = tokenizer.decode(encodeToolChat(tokenizer, { messages, tools: weather }, true));
    expect(text).toBe('<|im_start|>system\nTools: get_weather get_time<|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n');
  });

  it("falls back to Folio's default system message for a template without tools", () => {
    const tokenizer = Tokenizer.fromJson(tok512Files.tokenizerJson, { ...tok512Files.tokenizerConfig, chat_template: WITHOUT_TOOLS });
    expect(tokenizer.templateRendersTools).toBe(false);
    const text = tokenizer.decode(encodeToolChat(tokenizer, { messages, tools: weather }, false));
    expect(text).toMatch(/^<\|im_start\|>system\nYou have these functions:\n\{"name":"get_weather"/);
    expect(text).toContain('<|im_start|>user\nWeather in Paris?<|im_end|>');
  });

  it('reads a call in the Hermes wrapper those templates teach, and only a known function', () => {
    const call = parseToolCall('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>', weather);
    expect(call?.function).toEqual({ name: 'get_weather', arguments: '{"city":"Paris"}' });
    expect(parseToolCall('<tool_call>{"name": "launch", "arguments": {}}</tool_call>', weather)).toBeNull();
    expect(parseToolCall('<tool_call>{"name": "get_time", "arguments": {}}', weather)).toBeNull();
  });
});
