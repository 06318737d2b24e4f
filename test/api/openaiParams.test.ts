import { describe, expect, it } from 'vitest';
import { parseRequest, type RequestLimits } from '../../src/engine/GenerationRequest.ts';
import { InvalidParamsError } from '../../src/errors.ts';

/** The error parseRequest throws for `params`. */
function refusal(params: unknown, limits?: RequestLimits): InvalidParamsError {
  try {
    parseRequest(params, limits);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidParamsError);
    return e as InvalidParamsError;
  }
  throw new Error(`accepted ${JSON.stringify(params)}`);
}

const chat = (extra: object) => ({ messages: [{ role: 'user', content: 'Hi' }], ...extra });

describe('max_completion_tokens (issue 13): the newer name of max_tokens', () => {
  it('sets the limit alone, and agrees with max_tokens when both are given', () => {
    expect(parseRequest(chat({ max_completion_tokens: 7 })).maxTokens).toBe(7);
    expect(parseRequest(chat({ max_completion_tokens: 7, max_tokens: 7 })).maxTokens).toBe(7);
    expect(parseRequest({ prompt: 'x', max_completion_tokens: 3, max_tokens: null }).maxTokens).toBe(3);
  });

  it('two different limits are an InvalidParamsError naming max_completion_tokens', () => {
    const e = refusal(chat({ max_completion_tokens: 7, max_tokens: 8 }));
    expect(e.param).toBe('max_completion_tokens');
    expect(e.message).toMatch(/7.*max_tokens is 8/);
  });

  it('a bad value is refused by its own name', () => {
    expect(refusal(chat({ max_completion_tokens: 0 })).param).toBe('max_completion_tokens');
    expect(refusal(chat({ max_completion_tokens: 1.5 })).param).toBe('max_completion_tokens');
  });
});

describe('logit_bias (issue 13)', () => {
  it('maps token ids to biases; -100 is a ban (-Infinity), 0 is no entry', () => {
    const bias = parseRequest(chat({ logit_bias: { '5': 2.5, '7': -100, '9': 0, '11': 100 } })).logitBias!;
    expect([...bias.entries()]).toEqual([[5, 2.5], [7, -Infinity], [11, 100]]);
    expect(parseRequest(chat({ logit_bias: {} })).logitBias).toBeNull();
    expect(parseRequest(chat({ logit_bias: null })).logitBias).toBeNull();
  });

  it('an id outside the vocabulary is an InvalidParamsError naming logit_bias', () => {
    expect(parseRequest(chat({ logit_bias: { '511': 1 } }), { vocabSize: 512 }).logitBias!.get(511)).toBe(1);
    const e = refusal(chat({ logit_bias: { '512': 1 } }), { vocabSize: 512 });
    expect(e.param).toBe('logit_bias');
    expect(e.message).toMatch(/512.*vocabulary of 512/);
  });

  it.each([
    ['a key that is not a token id', { abc: 1 }],
    ['a negative id', { '-1': 1 }],
    ['a fractional id', { '1.5': 1 }],
    ['a bias past 100', { '3': 100.5 }],
    ['a bias below -100', { '3': -101 }],
    ['a bias that is not a number', { '3': '1' }],
    ['NaN', { '3': NaN }],
  ])('%s is refused naming logit_bias', (_, logit_bias) => {
    expect(refusal(chat({ logit_bias })).param).toBe('logit_bias');
  });

  it('an array or a string is refused', () => {
    expect(refusal(chat({ logit_bias: [1, 2] })).param).toBe('logit_bias');
    expect(refusal(chat({ logit_bias: '{"1": 2}' })).param).toBe('logit_bias');
  });
});

describe('frequency_penalty and presence_penalty (issue 13)', () => {
  it('are read, 0 when absent or null', () => {
    expect(parseRequest(chat({ frequency_penalty: 0.5, presence_penalty: -1.25 })).penalties).toEqual({ frequency: 0.5, presence: -1.25 });
    expect(parseRequest(chat({ frequency_penalty: null })).penalties).toEqual({ frequency: 0, presence: 0 });
  });

  it.each(['frequency_penalty', 'presence_penalty'])('%s outside [-2, 2] or not a number is refused by name', (name) => {
    expect(refusal(chat({ [name]: 2.01 })).param).toBe(name);
    expect(refusal(chat({ [name]: -3 })).param).toBe(name);
    expect(refusal(chat({ [name]: '1' })).param).toBe(name);
    expect(parseRequest(chat({ [name]: -2 })).penalties).not.toEqual({ frequency: 0, presence: 0 });
  });
});

describe('stream_options (issue 13)', () => {
  it('is accepted with stream: true, refused without (as OpenAI does)', () => {
    expect(() => parseRequest(chat({ stream: true, stream_options: { include_usage: true, include_obfuscation: false } }))).not.toThrow();
    expect(refusal(chat({ stream_options: { include_usage: true } })).param).toBe('stream_options');
    expect(refusal(chat({ stream: false, stream_options: { include_usage: true } })).param).toBe('stream_options');
  });

  it('refuses an unknown option and a non-boolean', () => {
    expect(refusal(chat({ stream: true, stream_options: { usage: true } })).param).toBe('stream_options.usage');
    expect(refusal(chat({ stream: true, stream_options: { include_usage: 'yes' } })).param).toBe('include_usage');
  });
});

describe('messages: the developer role and text content parts (issue 13)', () => {
  it('developer is rendered as system', () => {
    const r = parseRequest({ messages: [{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] });
    expect(r.prompt).toEqual({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] });
  });

  it('text parts are joined into one string', () => {
    const r = parseRequest({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Once upon' }, { type: 'text', text: ' a time' }] }] });
    expect(r.prompt).toEqual({ messages: [{ role: 'user', content: 'Once upon a time' }] });
  });

  it('a non-text part is refused by its type, at its place', () => {
    const e = refusal({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Look:' }, { type: 'image_url', image_url: { url: 'data:,' } }] }] });
    expect(e.param).toBe('messages[0].content[1].type');
    expect(e.message).toMatch(/image_url parts are not supported/);
    expect(refusal({ messages: [{ role: 'user', content: [{ type: 'input_audio' }] }] }).message).toMatch(/input_audio/);
    expect(refusal({ messages: [{ role: 'user', content: [{ type: 'text', text: 3 }] }] }).param).toBe('messages[0].content[0].text');
  });

  it("the legacy 'function' role is refused; 'tool' messages are accepted with their call id (issue 16)", () => {
    expect(refusal({ messages: [{ role: 'function', content: 'x', name: 'f' }] }).param).toBe('messages[0].role');
    expect(refusal({ messages: [{ role: 'tool', content: 'x' }] }).param).toBe('messages[0].tool_call_id');
    const p = parseRequest({ messages: [{ role: 'tool', content: 'x', tool_call_id: 'a' }] });
    expect('messages' in p.prompt && p.prompt.messages[0]).toEqual({ role: 'tool', content: 'x', tool_call_id: 'a' });
  });
});

describe('logprobs: chat takes booleans, text completions the legacy integer (issue 13)', () => {
  it('text: logprobs k in 0..5 asks for k alternatives', () => {
    expect(parseRequest({ prompt: 'x', logprobs: 0 }).topLogprobs).toBe(0);
    expect(parseRequest({ prompt: 'x', logprobs: 5 }).topLogprobs).toBe(5);
    expect(parseRequest({ prompt: 'x', logprobs: null }).topLogprobs).toBeNull();
  });

  it('text: 6, a boolean, or top_logprobs are refused by name', () => {
    expect(refusal({ prompt: 'x', logprobs: 6 }).param).toBe('logprobs');
    expect(refusal({ prompt: 'x', logprobs: true }).param).toBe('logprobs');
    expect(refusal({ prompt: 'x', logprobs: 2, top_logprobs: 2 }).param).toBe('top_logprobs');
  });

  it('chat: logprobs true with top_logprobs as before; an integer is refused', () => {
    expect(parseRequest(chat({ logprobs: true, top_logprobs: 3 })).topLogprobs).toBe(3);
    expect(refusal(chat({ logprobs: 2 })).param).toBe('logprobs');
  });
});
