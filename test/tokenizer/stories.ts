import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, vi } from 'vitest';
import { parseTokenizerBin, type TokenizerBin } from '../../src/model/llama2c/tokenizerBin.ts';
import { buildTokenizerFiles, type TokenizerFiles } from '../../src/model/llama2c/tokenizerJson.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { SHARED } from '../paths.ts';

/** stories260K's tokenizer, as llama2.c's file, as Hugging Face files, and as Folio's Tokenizer. */
export const TOK512_PATH = resolve(SHARED, 'models', 'stories260K', 'tok512.bin');
export const tok512Bytes = (): Uint8Array => new Uint8Array(readFileSync(TOK512_PATH));
export const tok512: TokenizerBin = parseTokenizerBin(tok512Bytes());
export const tok512Files: TokenizerFiles = buildTokenizerFiles(tok512, { modelMaxLength: 512 });
export const storiesTokenizer = (): Tokenizer => Tokenizer.fromJson(tok512Files.tokenizerJson, tok512Files.tokenizerConfig);

export interface GreedyFixture {
  prompt: string;
  text: string;
  next_ids: number[];
}
export const greedyFixture: GreedyFixture = JSON.parse(readFileSync(resolve(SHARED, 'fixtures', 'stories260K-greedy.json'), 'utf8'));

/** Makes any network access in the calling test file fail loudly. */
export function forbidNetwork(): void {
  beforeAll(() => {
    vi.stubGlobal('fetch', () => {
      throw new Error('the tokenizer tests must not touch the network');
    });
  });
  afterAll(() => {
    vi.unstubAllGlobals();
  });
}
