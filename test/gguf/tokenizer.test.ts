import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GGUFValueType } from '@huggingface/gguf';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { allStrings } from '../tokenizer/corpus.ts';
import { Llama2cEncoder } from '../tokenizer/llama2cEncoder.ts';
import { tok512 } from '../tokenizer/stories.ts';
import { fixtureBytes, GGUF_DIR, loadPath, tempFolder, withMetadata } from './ggufFiles.ts';

const tmp = tempFolder();
afterAll(() => tmp.remove());

async function ggufTokenizer(path: string): Promise<Tokenizer> {
  const { tokenizerJson, tokenizerConfig, weights } = await loadPath(path);
  return Tokenizer.fromJson(tokenizerJson, tokenizerConfig, { eosIds: weights.config.eosTokenIds });
}

const hfQwen = (): Tokenizer => {
  const dir = join(GGUF_DIR, 'qwen2-tiny-hf');
  const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  // Its merges are pairs, as tokenizers >= 0.20 writes them: the Tokenizer reads them as they are.
  return Tokenizer.fromJson(read('tokenizer.json'), read('tokenizer_config.json'));
};

/** Strings beyond the shared corpus that exercise the Qwen2 split: digits, contractions, newlines runs, specials. */
const QWEN_EXTRA = [
  "I'm sure they'll say it's 2024, isn't it? WE'RE", 'x=12345; y = 3.14\n\n\tdone', '  spaces   before\r\n\r\nand after  ',
  'tokens<|endoftext|>after', '<|endoftext|>', 'emoji 😀 and 中文',
];

describe('the tokenizer built from GGUF metadata', () => {
  it('llama (SentencePiece, stories260K): the ids of llama2.c encode() over the shared corpus, BOS from add_bos_token', async () => {
    const tokenizer = await ggufTokenizer(join(GGUF_DIR, 'stories260K-Q8_0.gguf'));
    const oracle = new Llama2cEncoder(tok512.pieces);
    expect(allStrings.length).toBeGreaterThan(300);
    for (const s of allStrings) expect(tokenizer.encode(s), JSON.stringify(s)).toEqual(oracle.encode(s, true, false));
    for (const s of allStrings) expect(tokenizer.decode(tokenizer.encode(s), { skipSpecial: true }), JSON.stringify(s)).toBe(s);
    expect(tokenizer.bosId).toBe(1);
    expect(tokenizer.eosIds).toEqual([2]);
  });

  it('gpt2 (byte-level BPE, pre qwen2): the ids of the Hugging Face tokenizer.json it was converted from, no BOS', async () => {
    const tokenizer = await ggufTokenizer(join(GGUF_DIR, 'qwen2-tiny-Q8_0.gguf'));
    const hf = hfQwen();
    for (const s of [...allStrings, ...QWEN_EXTRA]) {
      expect(tokenizer.encode(s), JSON.stringify(s)).toEqual(hf.encode(s));
      expect(tokenizer.decode(tokenizer.encode(s)), JSON.stringify(s)).toBe(s);
    }
    expect(tokenizer.encode('a<|endoftext|>')).toEqual([...tokenizer.encode('a'), 1000]);
    expect(tokenizer.bosId).toBeNull();
    expect(tokenizer.eosIds).toEqual([1000]);
  });

  it('takes the chat template from tokenizer.chat_template', async () => {
    const template = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";
    const bytes = await withMetadata(fixtureBytes('qwen2-tiny-Q8_0.gguf'), (m) => {
      m['tokenizer.chat_template'] = { type: GGUFValueType.STRING, value: template };
    });
    const tokenizer = await ggufTokenizer(tmp.write('chat.gguf', bytes));
    const messages = [{ role: 'user', content: 'Hi' }];
    expect(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true })).toBe('<|user|>Hi\n<|assistant|>');
  });

  it('honours add_bos_token false for a llama tokenizer', async () => {
    const bytes = await withMetadata(fixtureBytes('stories260K-Q8_0.gguf'), (m) => {
      m['tokenizer.ggml.add_bos_token'] = { type: GGUFValueType.BOOL, value: false };
    });
    const tokenizer = await ggufTokenizer(tmp.write('nobos.gguf', bytes));
    expect(tokenizer.encode('Once upon a time')).toEqual([403, 407, 261, 378]);
  });

  it('refuses a pre-tokenizer or tokenizer model it does not implement, naming the key', async () => {
    const qwen = fixtureBytes('qwen2-tiny-Q8_0.gguf');
    const cases: [string, (m: Parameters<Parameters<typeof withMetadata>[1]>[0]) => void][] = [
      ['tokenizer.ggml.pre', (m) => (m['tokenizer.ggml.pre'] = { type: GGUFValueType.STRING, value: 'deepseek-coder' })],
      ['tokenizer.ggml.model', (m) => (m['tokenizer.ggml.model'] = { type: GGUFValueType.STRING, value: 'bert' })],
      ['tokenizer.ggml.merges', (m) => delete m['tokenizer.ggml.merges']],
    ];
    for (const [key, edit] of cases) {
      const path = tmp.write(`${key}.gguf`, await withMetadata(qwen, edit));
      const err = await loadPath(path).catch((e: unknown) => e);
      expect(err, key).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe(key);
      expect((err as ConfigError).file).toBe(`${key}.gguf`);
    }
  });
});
