import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TokenizerError } from '../../src/errors.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { loadModel } from '../../src/model/loadModel.ts';
import { tokenizerIdCount } from '../../src/model/tokenizerFit.ts';
import { DEFAULT_MODEL } from '../paths.ts';
import { randomTensors, tempDir, tinyConfig, writeModel } from './synthetic.ts';

const bpe = (n: number, added: number[] = []) => ({
  version: '1.0',
  added_tokens: added.map((id) => ({ id, content: `<extra_${id}>`, special: true })),
  model: { type: 'BPE', vocab: Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, i])), merges: [] },
});

describe('the tokenizer and the model vocabulary are checked against each other at load', () => {
  const tmp = tempDir('folio-tokfit-');
  afterAll(tmp.cleanup);
  let n = 0;
  const folder = (vocabSize: number, tokenizer: unknown): string => {
    const dir = join(tmp.dir, `m${n++}`);
    const config = tinyConfig({ vocab_size: vocabSize });
    writeModel(dir, config, randomTensors(config));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
    return dir;
  };
  const loadError = (dir: string) => loadModel(new FolderSource(dir)).then(() => null, (e: unknown) => e as Error);

  it('counts the ids of BPE, Unigram and added tokens', () => {
    expect(tokenizerIdCount(bpe(300))).toBe(300);
    expect(tokenizerIdCount(bpe(300, [300, 301, 420]))).toBe(421);
    expect(tokenizerIdCount({ model: { type: 'Unigram', vocab: [['<unk>', 0], ['a', -1], ['b', -2]] } })).toBe(3);
    expect(tokenizerIdCount(JSON.parse(readFileSync(join(DEFAULT_MODEL, 'tokenizer.json'), 'utf8')))).toBe(512);
  });

  it('a 300-token tokenizer for a 512-token model is a TokenizerError at load', async () => {
    const err = await loadError(folder(512, bpe(300)));
    expect(err).toBeInstanceOf(TokenizerError);
    expect(err!.message).toContain("config.json's vocab_size 512 exceeds the 300 token ids of tokenizer.json by 212");
  });

  it('a tokenizer with ids the model cannot embed is a TokenizerError at load', async () => {
    const err = await loadError(folder(512, bpe(512, [512, 611])));
    expect(err).toBeInstanceOf(TokenizerError);
    expect(err!.message).toContain('the model has no embedding for ids 512 to 611');
  });

  it('a vocabulary padded past the tokenizer (as Qwen2.5 and Phi-3 pad theirs) loads', async () => {
    expect(await loadError(folder(576, bpe(500)))).toBeNull();
    expect(await loadError(folder(512, bpe(512)))).toBeNull();
  });

});
