import { createCpuBackend, type CpuOptions } from '../cpu/cpuKernels.ts';
import type { ForwardBackend } from '../engine/ForwardBackend.ts';
import { loadAnyModel } from '../gguf/loadAnyModel.ts';
import type { KernelsOption } from '../gpu/kernelSet.ts';
import { planKvCache } from '../kv/KvPlan.ts';
import type { ModelConfig } from '../model/config.ts';
import { type ModelSource, openSource } from '../model/ModelSource.ts';
import { type AutoLimits, pickWeights, weightsChoice, type WeightsChoice, type WeightsOption } from '../quant/quantizeModel.ts';
import { DeviceLostError, InvalidParamsError } from '../errors.ts';
import type { ModelWeights } from '../model/weights.ts';
import { isCachingSource } from './draftCache.ts';
import type { Drafter } from './Drafter.ts';
import { DraftModelDrafter } from './DraftModelDrafter.ts';
import { RecoveringDraft } from './draftRecovery.ts';
import type { Drafters } from './Speculation.ts';
import { parseSpeculative, type SpeculativeMethod, type SpeculativeParam } from './speculativeParams.ts';
import { checkSameTokenizer } from './draftTokenizerCheck.ts';

/** The engine option that loads a draft model (`speculative: { draftModel, draftWeights? }`). */
export interface DraftModelOption {
  /** A model folder, URL, `hf:` spec or `.gguf` file, as the main model takes; or a source already opened. */
  draftModel: string | ModelSource;
  /**
   * A safetensors draft's 2-D weights quantized on load ('f32' by default), as the main model's
   * `weights`: the same model as 'q4_0' or 'f16' is a self-drafter. A GGUF file keeps its formats.
   */
  draftWeights?: WeightsChoice;
}

/** What the draft must match and run beside: the target's vocabulary, tokenizer, backend and KV size. */
export interface DraftHost {
  name: string;
  config: ModelConfig;
  tokenizerJson: unknown;
  backend: 'cpu' | 'webgpu';
  /** The target's KV: the draft's pool holds as many tokens (same block size, at most as many blocks). */
  blockSize: number;
  numBlocks: number;
  /** The draft's KV bytes at most (all layers, K and V); 64 MiB by default. */
  kvBudgetBytes?: number;
  gpu?: GPU;
  kernels?: KernelsOption;
  cpu?: CpuOptions;
  /** The adapter's limits, for draftWeights 'auto' on WebGPU. */
  limits?: AutoLimits | null;
  onWarning?: (message: string) => void;
}

/** A loaded draft model's drafter: propose, release, and dispose, which frees its backend. */
export type LoadedDraft = Drafter & { dispose(): void };

/**
 * Loads a draft model exactly as the main model loads (Hugging Face folder or URL, GGUF file,
 * quantize on load), refuses one whose tokenizer differs by name, and puts it on its own backend
 * of the target's kind with its own paged KV. On WebGPU that is a GpuBackend with a device of its
 * own from the same adapter (GpuBackend.create requests one and takes none to share; the models
 * share no buffers, so what a second device costs is its own queue and its own compiled
 * pipelines). The engine's DeviceRecovery rebuilds only the target's device, so the draft
 * rebuilds its own when it is lost (RecoveringDraft). A source that caches (draftCache.ts) is
 * committed once the draft is loaded.
 */
export async function loadDraftModel(option: DraftModelOption, host: DraftHost): Promise<LoadedDraft> {
  const choice = weightsChoice(option.draftWeights ?? 'f32');
  const source = typeof option.draftModel === 'string' ? await openSource(option.draftModel) : option.draftModel;
  const pick = (config: ModelConfig): WeightsOption => (choice === 'auto' ? pickWeights(config, host.backend === 'webgpu' ? (host.limits ?? null) : null).option : choice);
  const { weights, tokenizerJson } = await loadAnyModel(source, { weights: pick });
  checkSameTokenizer({ name: host.name, vocabSize: host.config.vocabSize, tokenizerJson: host.tokenizerJson }, { name: source.describe(), vocabSize: weights.config.vocabSize, tokenizerJson });
  const blockSize = host.blockSize;
  const budget = planKvCache(weights.config, { blockSize, memoryBudgetBytes: host.kvBudgetBytes });
  const numBlocks = Math.min(host.numBlocks, budget.numBlocks);
  let draft: LoadedDraft;
  if (host.backend === 'webgpu') {
    const { GpuBackend } = await import('../gpu/GpuBackend.ts');
    const onGpu = (w: ModelWeights) => GpuBackend.create(w, { blockSize, numBlocks, gpu: host.gpu, kernels: host.kernels });
    draft = new RecoveringDraft(await onGpu(weights), draftReloader(source, pick, weights.fingerprint, onGpu), host.onWarning);
  } else {
    draft = new DraftModelDrafter((await createCpuBackend(weights, { blockSize, numBlocks }, host.cpu)).backend, { onWarning: host.onWarning });
  }
  if (isCachingSource(source)) await source.commit(weights.fingerprint);
  return draft;
}

/**
 * After the draft's device was lost: its weights again from the same source (in a browser the
 * IndexedDB-cached one), as the model's own are; a function of its own, so that its closure
 * holds the source and not the weights.
 */
function draftReloader(source: ModelSource, pick: (config: ModelConfig) => WeightsOption, fingerprint: string, create: (w: ModelWeights) => Promise<ForwardBackend>): () => Promise<ForwardBackend> {
  return async () => {
    const { weights } = await loadAnyModel(source, { weights: pick });
    if (weights.fingerprint !== fingerprint) throw new DeviceLostError(`${source.describe()} changed since it was loaded`);
    return create(weights);
  };
}

/** loadEngine's `speculative`: every request's default (`method`, `k`), and a draft model to load beside the model. */
export interface EngineSpeculativeOption extends Partial<DraftModelOption> {
  method?: SpeculativeMethod;
  k?: number;
}

/**
 * The engine's speculative options, checked before anything is fetched (a bad default, a
 * 'draft' default without a draft model, draftWeights alone are refused by name); `load` then
 * loads the draft model, if any, beside the model as `host` describes it.
 */
export function engineSpeculation(option: EngineSpeculativeOption | undefined): { load(host: DraftHost): Promise<{ drafters?: Drafters; speculative?: SpeculativeParam }> } {
  if (option === undefined) return { load: async () => ({}) };
  const { draftModel, draftWeights, ...given } = option;
  if (draftWeights !== undefined && draftModel === undefined) throw new InvalidParamsError('speculative.draftWeights', 'needs speculative.draftModel');
  if (draftWeights !== undefined) {
    try {
      weightsChoice(draftWeights);
    } catch (e) {
      throw e instanceof InvalidParamsError ? new InvalidParamsError('speculative.draftWeights', e.message.replace(/^weights: /, '')) : e;
    }
  }
  const name = draftModel === undefined ? null : typeof draftModel === 'string' ? draftModel : draftModel.describe();
  const speculative = Object.keys(given).length > 0 ? { ...given, method: given.method! } : undefined;
  if (speculative) parseSpeculative(speculative, name, 'speculative');
  return {
    async load(host) {
      if (draftModel === undefined) return { speculative };
      const draft = await loadDraftModel({ draftModel, draftWeights }, host);
      return { drafters: { draft, draftModel: name! }, speculative };
    },
  };
}

/**
 * `folio generate --speculative draft --draft-model X`: the draft model beside the CLI's target,
 * on the same kind of backend, with as many KV blocks (the CLI runs one sequence).
 */
export function cliDraftModel(req: { model: string; draftModel?: string; draftWeights?: WeightsChoice; cpuKernels?: CpuOptions['kernels']; kernels?: KernelsOption }, target: { tokenizerJson: unknown }, backend: ForwardBackend): Promise<LoadedDraft> {
  if (req.draftModel === undefined) throw new InvalidParamsError('draft-model', "is needed by --speculative draft");
  const host: DraftHost = { name: req.model, config: backend.config, tokenizerJson: target.tokenizerJson, backend: backend.name, blockSize: backend.blockSize, numBlocks: backend.numBlocks, cpu: { kernels: req.cpuKernels }, kernels: req.kernels };
  return loadDraftModel({ draftModel: req.draftModel, draftWeights: req.draftWeights }, host);
}
