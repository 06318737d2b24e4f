import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../../src/errors.ts';
import { formatPlainChat, PLAIN_CHAT_FORMAT } from '../../src/tokenizer/chat.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { forbidNetwork, storiesTokenizer, tok512Files } from './stories.ts';

forbidNetwork();

const messages = [
  { role: 'system', content: 'You tell stories.' },
  { role: 'user', content: 'Tell me about a cat.' },
  { role: 'assistant', content: 'Once upon a time, a cat sat.' },
  { role: 'user', content: 'And then?' },
];

const CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const LLAMA2 = "{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ ' ' + message['content'] + ' ' + eos_token }}{% endif %}{% endfor %}";

describe('chat formatting', () => {
  it('uses the plain format for a model without chat_template', () => {
    const tokenizer = storiesTokenizer();
    const text = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
    expect(text).toBe('System: You tell stories.\nUser: Tell me about a cat.\nAssistant: Once upon a time, a cat sat.\nUser: And then?\nAssistant:');
    expect(tokenizer.applyChatTemplate(messages.slice(1, 2))).toBe('User: Tell me about a cat.');
    expect(tokenizer.encodeChat(messages, { addGenerationPrompt: true })).toEqual(tokenizer.encode(text, { addBos: true }));
  });

  it('documents the plain format it uses', () => {
    expect(formatPlainChat([{ role: 'system', content: '...' }, { role: 'user', content: '...' }, { role: 'assistant', content: '...' }], { addGenerationPrompt: true }))
      .toBe(PLAIN_CHAT_FORMAT);
  });

  it("renders the model's chat_template through transformers.js", () => {
    const tokenizer = Tokenizer.fromJson(tok512Files.tokenizerJson, { ...tok512Files.tokenizerConfig, chat_template: CHATML });
    expect(tokenizer.applyChatTemplate(messages.slice(1, 2), { addGenerationPrompt: true }))
      .toBe('<|im_start|>user\nTell me about a cat.<|im_end|>\n<|im_start|>assistant\n');
    expect(tokenizer.applyChatTemplate(messages.slice(1, 2))).toBe('<|im_start|>user\nTell me about a cat.<|im_end|>\n');
  });

  it("lets the template write the special tokens, adding no BOS of its own", () => {
    const tokenizer = Tokenizer.fromJson(tok512Files.tokenizerJson, { ...tok512Files.tokenizerConfig, chat_template: LLAMA2 });
    const conversation = messages.slice(1, 3);
    expect(tokenizer.applyChatTemplate(conversation)).toBe('<s>[INST] Tell me about a cat. [/INST] Once upon a time, a cat sat. </s>');
    const ids = tokenizer.encodeChat(conversation);
    expect(ids[0]).toBe(1);
    expect(ids[1]).not.toBe(1);
    expect(ids.at(-1)).toBe(2);
  });

  it('reports a broken template as a TokenizerError', () => {
    const tokenizer = Tokenizer.fromJson(tok512Files.tokenizerJson, { ...tok512Files.tokenizerConfig, chat_template: '{{ raise_exception("no") }}' });
    expect(() => tokenizer.applyChatTemplate(messages)).toThrow(TokenizerError);
  });
});
