import { InvalidParamsError, ModelFormatError } from '../errors.ts';
import { expectedTensors, type ModelConfig } from '../model/config.ts';
import { CONFIG_LIMITS } from '../model/configLimits.ts';
import { fingerprint } from '../model/fingerprint.ts';
import type { LoadedModel, LoadOptions } from '../model/loadModel.ts';
import { fetchRequired, type ModelSource } from '../model/ModelSource.ts';
import { elementIndex, firstNonFinite } from '../model/nonFinite.ts';
import { checkTokenizerFits } from '../model/tokenizerFit.ts';
import type { PackedTensor } from '../model/weights.ts';
import { dequantize } from '../quant/index.ts';
import { architectureOf, ggufConfig } from './ggufConfig.ts';
import { type GgufHeader, type GgufTensorInfo, readGgufHeader } from './ggufHeader.ts';
import { ggufTokenizer } from './ggufTokenizer.ts';
import { Metadata } from './Metadata.ts';
import { llama3FromRopeFactors } from './ropeFactors.ts';
import { unpermuteRopeRowBytes, unpermuteRopeRows } from './ropeOrder.ts';
import { tensorBytes, tensorValues } from './tensorData.ts';
import { ggufName, huggingFaceName } from './tensorNames.ts';

/** Rows of q and k that llama.cpp stores in its adjacent-pair RoPE order (llama architecture only). */
const ROPE_PERMUTED = /\.self_attn\.[qk]_proj\.(weight|bias)$/;

/**
 * Loads a GGUF model (`source.ggufFile`, or `opts.file`) into what loadModel returns for a
 * Hugging Face folder: a ModelConfig from the metadata, every tensor under its Hugging Face
 * name (1-D ones widened to f32, 2-D ones kept packed in the file's format; q/k rows of llama
 * files back in rotate-half order), and the tokenizer
 * from the metadata as tokenizer.json / tokenizer_config.json objects.
 */
export async function loadGguf(source: ModelSource, opts: LoadOptions & { file?: string } = {}): Promise<LoadedModel> {
  const file = opts.file ?? source.ggufFile;
  if (!file) throw new InvalidParamsError('model', `${source.describe()} names no GGUF file`);
  const bytes = await fetchRequired(source, file);
  opts.onProgress?.({ file, filesDone: 1, filesTotal: 1 });
  const header = await readGgufHeader(bytes, file);
  const m = new Metadata(header.metadata, file);
  const arch = architectureOf(m);
  const { byName, ropeFreqs } = tensorsByHfName(header);
  const vocabSize = vocabSizeOf(header, byName);
  const { tokenizerJson, tokenizerConfig, vocab } = ggufTokenizer(m, vocabSize);
  checkTokenizerFits(tokenizerJson, vocabSize);
  let config = ggufConfig(m, arch, { vocabSize, tied: !byName.has('lm_head.weight'), bosId: vocab.bosId, eosId: vocab.eosId });
  if (ropeFreqs) {
    if (arch !== 'llama') throw new ModelFormatError(file, `RoPE frequency factors are not part of a ${arch} model`, ropeFreqs.name);
    const hint = m.has(`${arch}.rope.scaling.original_context_length`) ? m.int(`${arch}.rope.scaling.original_context_length`, 2 ** 24) : undefined;
    const ropeScaling = llama3FromRopeFactors(tensorValues(bytes, header, ropeFreqs), config.ropeTheta, config.headDim, file, hint);
    config = { ...config, ropeScaling };
  }

  const { tensors, packed } = readTensors(bytes, header, byName, config);
  const id = await fingerprint([{ name: file, bytes }]);
  return { weights: { config, tensors, packed, fingerprint: id }, tokenizerJson, tokenizerConfig };
}

/**
 * Every tensor the config implies, shape-checked against it and checked finite: 1-D tensors
 * (norms, biases) widened to f32, 2-D weights kept packed (views of the file's bytes; llama q/k
 * rows moved back to rotate-half order, whole packed rows at a time). A tensor the config does
 * not account for is refused first (before any data is read).
 */
function readTensors(
  bytes: Uint8Array,
  header: GgufHeader,
  byName: Map<string, GgufTensorInfo>,
  config: ModelConfig,
): { tensors: Map<string, Float32Array>; packed: Map<string, PackedTensor> } {
  const { file } = header;
  const arch = config.modelType;
  const expected = expectedTensors(config);
  for (const [name, t] of byName) {
    if (!expected.has(name)) throw new ModelFormatError(file, `is not part of a ${arch} model with this metadata; Folio refuses what it would ignore`, t.name);
  }
  const tensors = new Map<string, Float32Array>();
  const packed = new Map<string, PackedTensor>();
  for (const [name, shape] of expected) {
    const t = byName.get(name);
    if (!t) throw new ModelFormatError(file, `is missing (a ${arch} model with this metadata has it)`, ggufName(name));
    const hfShape = [...t.dims].reverse();
    if (hfShape.length !== shape.length || hfShape.some((d, i) => d !== shape[i])) {
      throw new ModelFormatError(file, `has ne [${t.dims.join(', ')}] (row-major [${hfShape.join(', ')}]), but the metadata implies [${shape.join(', ')}]`, t.name);
    }
    const data = tensorBytes(bytes, header, t);
    // Decoded once here, only to refuse non-finite weights by element; the f32 copy is dropped.
    const values = dequantize(data.format, data.bytes, data.elements);
    const bad = firstNonFinite(values);
    if (bad >= 0) throw new ModelFormatError(file, `holds ${values[bad]} at element ${elementIndex(bad, shape)}: every weight must be finite`, t.name);
    const permuted = arch === 'llama' && ROPE_PERMUTED.test(name);
    if (shape.length === 2) {
      const [rows, cols] = shape;
      const rowBytes = data.bytes.length / rows;
      packed.set(name, { format: data.format, bytes: permuted ? unpermuteRopeRowBytes(data.bytes, config.headDim, rowBytes) : data.bytes, rows, cols });
    } else {
      tensors.set(name, permuted ? unpermuteRopeRows(values, config.headDim, 1) : values);
    }
  }
  return { tensors, packed };
}

/**
 * The header's tensors by Hugging Face name, and llama.cpp's RoPE factors (llama3 scaling) apart;
 * a tensor Folio has no name for is refused by its own.
 */
function tensorsByHfName(header: GgufHeader): { byName: Map<string, GgufTensorInfo>; ropeFreqs: GgufTensorInfo | null } {
  const byName = new Map<string, GgufTensorInfo>();
  let ropeFreqs: GgufTensorInfo | null = null;
  for (const t of header.tensors) {
    if (t.name === 'rope_freqs.weight') {
      ropeFreqs = t;
      continue;
    }
    const hf = huggingFaceName(t.name);
    if (!hf) throw new ModelFormatError(header.file, 'is not a tensor Folio knows in a llama or qwen2 model', t.name);
    byName.set(hf, t);
  }
  return { byName, ropeFreqs };
}

/** The vocabulary is what the embedding holds: token_embd's rows (ne[1]). */
function vocabSizeOf(header: GgufHeader, byName: Map<string, GgufTensorInfo>): number {
  const t = byName.get('model.embed_tokens.weight');
  if (!t) throw new ModelFormatError(header.file, 'is missing', 'token_embd.weight');
  if (t.dims.length !== 2 || t.dims[1] < 1 || t.dims[1] > CONFIG_LIMITS.vocab_size) {
    throw new ModelFormatError(header.file, `has ne [${t.dims.join(', ')}]; an embedding is [hidden, vocab] with a vocabulary of at most ${CONFIG_LIMITS.vocab_size}`, t.name);
  }
  return t.dims[1];
}
