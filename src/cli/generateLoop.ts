import { ContextLengthError } from '../errors.ts';
import type { ForwardBackend } from '../engine/ForwardBackend.ts';
import { blocksFor } from '../kv/batch.ts';
import type { LoadedModel } from '../model/loadModel.ts';
import type { ModelWeights } from '../model/weights.ts';
import { Rng } from '../sampling/Rng.ts';
import { sample } from '../sampling/sample.ts';
import { samplingParams } from '../sampling/SamplingParams.ts';
import { Tokenizer } from '../tokenizer/Tokenizer.ts';
import { newConstraint } from '../grammar/Constraint.ts';
import { parseGbnf } from '../grammar/gbnf.ts';
import { vocabularyOf } from '../grammar/tokenBytes.ts';
import { applyAdjustments, rowMask } from '../sampling/logitAdjustments.ts';
import type { GenerateRequest, GenerateResult } from './GenerateRequest.ts';
import { blocksUnderLimit, generateUnderLimit } from './generateUnderLimit.ts';
import { generateSpeculative } from './speculativeLoop.ts';
import { NgramDrafter } from '../speculative/NgramDrafter.ts';
import { cliDraftModel } from '../speculative/draftModelLoad.ts';

export const BLOCK_SIZE = 16;

/** Builds a backend whose KV cache holds `numBlocks` blocks of BLOCK_SIZE tokens. */
export type BackendFactory = (weights: ModelWeights, opts: { blockSize: number; numBlocks: number }) => ForwardBackend | Promise<ForwardBackend>;

/**
 * One sequence, prompt then token by token, on any backend: the loop behind `folio generate`,
 * the same in Node (CPU) and in a page (WebGPU). Logits come back to this side and are
 * sampled here with the seeded Rng, so both backends sample identically from equal logits.
 */
export async function generateWith(model: LoadedModel, makeBackend: BackendFactory, req: GenerateRequest, onText?: (text: string) => void | Promise<void>): Promise<GenerateResult> {
  const params = samplingParams(req.sampling);
  const { weights, tokenizerJson, tokenizerConfig } = model;
  const tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig, { modelVocabSize: weights.config.vocabSize });
  // --no-bos: none; otherwise the tokenizer's own rule (a tokenizer.json's post-processor, a GGUF's
  // add_bos_token), so that a model trained without BOS (Qwen2) gets none.
  const promptIds = tokenizer.encode(req.prompt, req.addBos ? {} : { addBos: false });
  // A model needs at least one token to condition on.
  if (promptIds.length === 0) promptIds.push(tokenizer.bosId ?? 0);
  const total = promptIds.length + req.maxTokens;
  const context = weights.config.maxPositions;
  if (total > context && req.kv?.overflow !== 'shift') throw new ContextLengthError(promptIds.length, req.maxTokens, context);

  const numBlocks = req.kv ? blocksUnderLimit(req, weights.config, BLOCK_SIZE, promptIds.length) : blocksFor(total, BLOCK_SIZE);
  const backend = await makeBackend(weights, { blockSize: BLOCK_SIZE, numBlocks });
  try {
    const blockTable = Array.from({ length: backend.numBlocks }, (_, i) => i);
    const rng = new Rng(params.seed ?? Date.now());
    const eos = new Set(tokenizer.eosIds);
    // The printed text is the --json `text`: special tokens (the BOS a prompt starts with) left out.
    const stream = tokenizer.streamDecoder({ skipSpecial: true });
    for (const id of promptIds) await onText?.(stream.push(id));
    let kv: GenerateResult['kv'];
    const generatedIds: number[] = [];
    if (req.kv) {
      const run = await generateUnderLimit(backend, req, promptIds, params, rng, eos, async (id) => {
        await onText?.(stream.push(id));
      });
      generatedIds.push(...run.generatedIds);
      kv = { peakTokensHeld: run.peakTokensHeld, evictedTokens: run.evictedTokens };
    }
    let speculative: GenerateResult['speculative'];
    if (req.speculative && !req.kv) {
      const onToken = async (id: number) => void (await onText?.(stream.push(id)));
      const draftModel = req.speculative.method === 'draft' ? await cliDraftModel(req, model, backend) : null;
      const drafter = draftModel ?? new NgramDrafter();
      const run = await generateSpeculative(backend, { promptIds, maxTokens: req.maxTokens, k: req.speculative.k, drafter, params, rng, ends: (id) => eos.has(id) && !req.ignoreEos, onToken }).finally(() => draftModel?.dispose());
      generatedIds.push(...run.generatedIds);
      speculative = run.counts;
    }
    let chunk = promptIds;
    let startPos = 0;
    // --json-schema / --grammar: each row masked to the tokens the grammar allows (EOS where it may end).
    const constraint = req.grammar ? newConstraint(parseGbnf(req.grammar), vocabularyOf(tokenizer)) : null;
    while (!req.kv && !speculative && generatedIds.length < req.maxTokens) {
      const [raw] = await backend.forward({ chunks: [{ tokens: chunk, startPos, blockTable }], logits: 'last' });
      const logits = constraint ? applyAdjustments(raw, null, rowMask(raw.length, constraint.mask(), [])) : raw;
      const next = sample(logits, params, rng, [...promptIds, ...generatedIds]);
      if (eos.has(next) && (!req.ignoreEos || constraint)) break;
      constraint?.accept(next);
      generatedIds.push(next);
      await onText?.(stream.push(next));
      startPos += chunk.length;
      chunk = [next];
      if (constraint?.finished) break;
    }
    // What the decoder held back (an unfinished character at the end) is printed too.
    await onText?.(stream.flush());
    const text = tokenizer.decode([...promptIds, ...generatedIds], { skipSpecial: true });
    const completion = text.slice(tokenizer.decode(promptIds, { skipSpecial: true }).length);
    return { promptIds, generatedIds, text, completion, ...(kv ? { kv } : {}), ...(speculative ? { speculative } : {}) };
  } finally {
    backend.dispose();
  }
}
