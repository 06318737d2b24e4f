import { InvalidParamsError, ModelFormatError } from '../errors.ts';
import { expectedTensors, type ModelConfig } from '../model/config.ts';
import { CONFIG_LIMITS } from '../model/configLimits.ts';
import type { LoadedModel, LoadOptions } from '../model/loadModel.ts';
import type { ModelSource } from '../model/ModelSource.ts';
import { sha256Hex } from '../model/sha256.ts';
import { checkTokenizerFits } from '../model/tokenizerFit.ts';
import { architectureOf, ggufConfig } from './ggufConfig.ts';
import type { GgufTensorInfo } from './ggufHeader.ts';
import { closeParts, type GgufPart, openParts, partNames } from './ggufParts.ts';
import { ggufTokenizer } from './ggufTokenizer.ts';
import { Metadata } from './Metadata.ts';
import { llama3FromRopeFactors } from './ropeFactors.ts';
import { streamTensors, type TensorJob } from './streamTensors.ts';
import { tensorLayout } from './tensorData.ts';
import { ggufName, huggingFaceName } from './tensorNames.ts';

/** Rows of q and k that llama.cpp stores in its adjacent-pair RoPE order (llama architecture only). */
const ROPE_PERMUTED = /\.self_attn\.[qk]_proj\.(weight|bias)$/;

/**
 * Loads a GGUF model (`source.ggufFile`, or `opts.file`; any part of a split model names all its
 * parts) into what loadModel returns for a Hugging Face folder: a ModelConfig from the metadata,
 * every tensor under its Hugging Face name (1-D ones widened to f32, 2-D ones kept packed in the
 * file's format; q/k rows of llama files back in rotate-half order), and the tokenizer from the
 * metadata as tokenizer.json / tokenizer_config.json objects. Every header is read and checked
 * before any tensor data; then the data streams past once (see streamTensors).
 */
export async function loadGguf(source: ModelSource, opts: LoadOptions & { file?: string } = {}): Promise<LoadedModel> {
  const file = opts.file ?? source.ggufFile;
  if (!file) throw new InvalidParamsError('model', `${source.describe()} names no GGUF file`);
  const names = partNames(file);
  const parts = await openParts(source, names, opts.meter);
  try {
    // The first part holds the model's metadata (gguf-split writes only split.* into the others).
    const first = parts[0].header;
    const m = new Metadata(first.metadata, first.file);
    const arch = architectureOf(m);
    const { byName, ropeFreqs } = tensorsByHfName(parts);
    const vocabSize = vocabSizeOf(parts, byName);
    const { tokenizerJson, tokenizerConfig, vocab } = ggufTokenizer(m, vocabSize);
    checkTokenizerFits(tokenizerJson, vocabSize);
    let config = ggufConfig(m, arch, { vocabSize, tied: !byName.has('lm_head.weight'), bosId: vocab.bosId, eosId: vocab.eosId });
    if (ropeFreqs && arch !== 'llama') throw new ModelFormatError(parts[ropeFreqs.part].header.file, `RoPE frequency factors are not part of a ${arch} model`, ropeFreqs.info.name);
    const jobs = tensorJobs(parts, byName, ropeFreqs, config);
    const read = await streamTensors(parts, jobs, config.headDim, opts.meter);
    opts.onProgress?.({ file, filesDone: names.length, filesTotal: names.length });
    if (read.ropeFreqs) {
      const hint = m.has(`${arch}.rope.scaling.original_context_length`) ? m.int(`${arch}.rope.scaling.original_context_length`, 2 ** 24) : undefined;
      const ropeScaling = llama3FromRopeFactors(read.ropeFreqs, config.ropeTheta, config.headDim, parts[ropeFreqs!.part].header.file, hint);
      config = { ...config, ropeScaling };
    }
    const id = await fingerprintOf(read.digests);
    return { weights: { config, tensors: read.tensors, packed: read.packed, fingerprint: id }, tokenizerJson, tokenizerConfig };
  } finally {
    await closeParts(parts);
  }
}

/** A tensor of the header, and the part whose file holds it. */
interface Located {
  part: number;
  info: GgufTensorInfo;
}

/**
 * Every tensor the config implies, shape-checked against it and placed in its file (type,
 * blocks, alignment, and the file's bounds where its size is known), before any data is read.
 * A tensor the config does not account for is refused first.
 */
function tensorJobs(parts: GgufPart[], byName: Map<string, Located>, ropeFreqs: Located | null, config: ModelConfig): TensorJob[] {
  const arch = config.modelType;
  const expected = expectedTensors(config);
  for (const [name, { part, info }] of byName) {
    if (!expected.has(name)) throw new ModelFormatError(parts[part].header.file, `is not part of a ${arch} model with this metadata; Folio refuses what it would ignore`, info.name);
  }
  const job = ({ part, info }: Located, hfName: string | null, shape: number[]): TensorJob => ({
    part,
    info,
    layout: tensorLayout(parts[part].header, info, parts[part].size),
    hfName,
    shape,
    permuted: hfName !== null && arch === 'llama' && ROPE_PERMUTED.test(hfName),
  });
  const jobs: TensorJob[] = [];
  for (const [name, shape] of expected) {
    const t = byName.get(name);
    if (!t) throw new ModelFormatError(parts[0].header.file, `is missing (a ${arch} model with this metadata has it)`, ggufName(name));
    const hfShape = [...t.info.dims].reverse();
    if (hfShape.length !== shape.length || hfShape.some((d, i) => d !== shape[i])) {
      throw new ModelFormatError(parts[t.part].header.file, `has ne [${t.info.dims.join(', ')}] (row-major [${hfShape.join(', ')}]), but the metadata implies [${shape.join(', ')}]`, t.info.name);
    }
    jobs.push(job(t, name, shape));
  }
  if (ropeFreqs) jobs.push(job(ropeFreqs, null, [...ropeFreqs.info.dims].reverse()));
  return jobs;
}

/** The same id model/fingerprint.ts gives the file's bytes, from digests taken as the files streamed. */
async function fingerprintOf(digests: { name: string; sha256: string }[]): Promise<string> {
  const lines = digests.map((d) => `${d.name}:${d.sha256}`).sort();
  return sha256Hex(new TextEncoder().encode(['folio-weights-v1', ...lines].join('\n')));
}

/**
 * The parts' tensors by Hugging Face name, and llama.cpp's RoPE factors (llama3 scaling) apart;
 * a tensor Folio has no name for is refused by its own.
 */
function tensorsByHfName(parts: GgufPart[]): { byName: Map<string, Located>; ropeFreqs: Located | null } {
  const byName = new Map<string, Located>();
  let ropeFreqs: Located | null = null;
  for (const [part, { header }] of parts.entries()) {
    for (const info of header.tensors) {
      if (info.name === 'rope_freqs.weight') {
        ropeFreqs = { part, info };
        continue;
      }
      const hf = huggingFaceName(info.name);
      if (!hf) throw new ModelFormatError(header.file, 'is not a tensor Folio knows in a llama or qwen2 model', info.name);
      byName.set(hf, { part, info });
    }
  }
  return { byName, ropeFreqs };
}

/** The vocabulary is what the embedding holds: token_embd's rows (ne[1]). */
function vocabSizeOf(parts: GgufPart[], byName: Map<string, Located>): number {
  const t = byName.get('model.embed_tokens.weight');
  if (!t) throw new ModelFormatError(parts[0].header.file, 'is missing', 'token_embd.weight');
  const { dims, name } = t.info;
  if (dims.length !== 2 || dims[1] < 1 || dims[1] > CONFIG_LIMITS.vocab_size) {
    throw new ModelFormatError(parts[t.part].header.file, `has ne [${dims.join(', ')}]; an embedding is [hidden, vocab] with a vocabulary of at most ${CONFIG_LIMITS.vocab_size}`, name);
  }
  return dims[1];
}
