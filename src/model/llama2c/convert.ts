import { encodeSafetensors } from '../safetensorsWriter.ts';
import { parseLlama2cCheckpoint } from './checkpoint.ts';
import { huggingFaceConfig, huggingFaceTensors } from './toHuggingFace.ts';
import { parseTokenizerBin } from './tokenizerBin.ts';
import { buildTokenizerFiles } from './tokenizerJson.ts';

/** The files of a Hugging Face model folder, by file name. */
export type ModelFiles = Map<string, Uint8Array>;

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');

/**
 * Converts a llama2.c checkpoint and its tokenizer.bin to the Hugging Face layout:
 * config.json, model.safetensors (HF names, q/k rows permuted to rotate-half),
 * tokenizer.json and tokenizer_config.json.
 */
export function convertLlama2c(checkpoint: Uint8Array, tokenizerBin: Uint8Array, names = { checkpoint: 'model.bin', tokenizer: 'tokenizer.bin' }): ModelFiles {
  const ckpt = parseLlama2cCheckpoint(checkpoint, names.checkpoint);
  const tok = buildTokenizerFiles(parseTokenizerBin(tokenizerBin), { modelMaxLength: ckpt.header.seqLen });
  const config = huggingFaceConfig(ckpt);
  const files: ModelFiles = new Map();
  files.set('config.json', json(config));
  files.set('generation_config.json', json({ bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id }));
  files.set('model.safetensors', encodeSafetensors(huggingFaceTensors(ckpt), { format: 'pt', converted_from: 'llama2.c' }));
  files.set('tokenizer.json', json(tok.tokenizerJson));
  files.set('tokenizer_config.json', json(tok.tokenizerConfig));
  return files;
}
