import { CpuBackend } from '../cpu/CpuBackend.ts';
import { ContextLengthError } from '../errors.ts';
import { blocksFor } from '../kv/batch.ts';
import { loadModel } from '../model/loadModel.ts';
import { openSource } from '../model/ModelSource.ts';
import { Rng } from '../sampling/Rng.ts';
import { sample } from '../sampling/sample.ts';
import { samplingParams } from '../sampling/SamplingParams.ts';
import { Tokenizer } from '../tokenizer/Tokenizer.ts';
import type { GenerateRequest, GenerateResult } from './GenerateRequest.ts';

const BLOCK_SIZE = 16;

/** One sequence on the reference CPU backend, in Node: the oracle path of the CLI. */
export async function generateOnCpu(req: GenerateRequest, onText?: (text: string) => void): Promise<GenerateResult> {
  const params = samplingParams(req.sampling);
  const { weights, tokenizerJson, tokenizerConfig } = await loadModel(await openSource(req.model));
  const tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig);
  const promptIds = tokenizer.encode(req.prompt, { addBos: req.addBos });
  // A model needs at least one token to condition on.
  if (promptIds.length === 0) promptIds.push(tokenizer.bosId ?? 0);
  const total = promptIds.length + req.maxTokens;
  const context = weights.config.maxPositions;
  if (total > context) throw new ContextLengthError(promptIds.length, req.maxTokens, context);

  const backend = new CpuBackend(weights, { blockSize: BLOCK_SIZE, numBlocks: blocksFor(total, BLOCK_SIZE) });
  const blockTable = Array.from({ length: backend.numBlocks }, (_, i) => i);
  const rng = new Rng(params.seed ?? Date.now());
  const eos = new Set(tokenizer.eosIds);
  const stream = tokenizer.streamDecoder();
  for (const id of promptIds) onText?.(stream.push(id));
  const generatedIds: number[] = [];
  let chunk = promptIds;
  let startPos = 0;
  while (generatedIds.length < req.maxTokens) {
    const [logits] = await backend.forward({ chunks: [{ tokens: chunk, startPos, blockTable }], logits: 'last' });
    const next = sample(logits, params, rng, [...promptIds, ...generatedIds]);
    if (eos.has(next)) break;
    generatedIds.push(next);
    onText?.(stream.push(next));
    startPos += chunk.length;
    chunk = [next];
  }
  const text = tokenizer.decode([...promptIds, ...generatedIds], { skipSpecial: true });
  const completion = text.slice(tokenizer.decode(promptIds, { skipSpecial: true }).length);
  return { promptIds, generatedIds, text, completion };
}
