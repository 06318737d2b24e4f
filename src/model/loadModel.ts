import { ModelFormatError } from '../errors.ts';
import { expectedTensors, type ModelConfig, parseConfig } from './config.ts';
import { widen } from './dtype.ts';
import { quantizeModel, targetFormat, weightsOption, type WeightsOption } from '../quant/quantizeModel.ts';
import { fingerprint } from './fingerprint.ts';
import { packedKey } from '../storage/packedKey.ts';
import { checkFileName, fetchOptional, fetchRequired, type ModelSource, type PackedWeightsCache, type PackedWeightsEntry, parseJsonFile } from './ModelSource.ts';
import { elementIndex, firstNonFinite } from './nonFinite.ts';
import { parseSafetensors, type SafetensorsFile } from './safetensors.ts';
import { sha256Hex } from './sha256.ts';
import { checkTokenizerFits } from './tokenizerFit.ts';
import type { ModelWeights, Tensor } from './weights.ts';

const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

export interface LoadedModel {
  weights: ModelWeights;
  /** tokenizer.json, parsed; null when the model has none. */
  tokenizerJson: unknown;
  /** tokenizer_config.json, parsed; null when the model has none. */
  tokenizerConfig: unknown;
}

export interface LoadProgress {
  file: string;
  filesDone: number;
  filesTotal: number;
}

export interface LoadOptions {
  /** Called as each tensor file arrives. */
  onProgress?: (p: LoadProgress) => void;
  /**
   * A safetensors model's 2-D weights quantized on load into this format (llama.cpp's rule:
   * rows the block does not divide fall back, see quantizeModel); 'f32' (the default) keeps
   * them f32. A function picks from the config (weights: 'auto'). A GGUF file keeps the
   * formats it was written in.
   */
  weights?: WeightsOption | ((config: ModelConfig) => WeightsOption);
  /** Told of the bytes a load holds (chunks read, tensors kept); a GGUF load reports to it (tests measure its peak). */
  meter?: LoadMeter;
}

/** Counts the bytes a load holds: `hold` when it takes bytes, `release` when it lets them go. */
export interface LoadMeter {
  hold(bytes: number): void;
  release(bytes: number): void;
}

/** Where each tensor lives, as a sharded checkpoint's index says; null for a single file. */
type WeightMap = Map<string, string> | null;

/**
 * Loads a Hugging Face Llama-family model: config.json, then model.safetensors or the shards
 * named by model.safetensors.index.json, checked against the config and widened to f32;
 * tokenizer.json is checked against the config's vocabulary, and every weight must be finite.
 */
export async function loadModel(source: ModelSource, opts: LoadOptions = {}): Promise<LoadedModel> {
  // A bad option is refused before anything is fetched.
  const given = typeof opts.weights === 'function' ? opts.weights : weightsOption(opts.weights ?? 'f32');
  const configBytes = await fetchRequired(source, 'config.json');
  const config = parseConfig(parseJsonFile('config.json', configBytes));
  const option = typeof given === 'function' ? weightsOption(given(config)) : given;
  const format = targetFormat(option);
  const tokenizer = Promise.all([optionalJson(source, 'tokenizer.json'), optionalJson(source, 'tokenizer_config.json')]);
  tokenizer.catch(() => undefined); // awaited below; a failure before then must not go unhandled
  // Quantized before, from these very files: the packed result is read instead (no tensor file, no quantizing).
  const stored = format && source.packedCache ? await readPacked(source, source.packedCache, option) : null;
  if (stored) {
    const [tokenizerJson, tokenizerConfig] = await tokenizer;
    checkTokenizerFits(tokenizerJson, config.vocabSize);
    return { weights: { config, tensors: stored.tensors, packed: stored.packed, fingerprint: stored.fingerprint }, tokenizerJson, tokenizerConfig };
  }
  const [{ weightMap, files, raw }, [tokenizerJson, tokenizerConfig]] = await Promise.all([readTensorFiles(source, opts), tokenizer]);
  checkTokenizerFits(tokenizerJson, config.vocabSize);
  const id = await fingerprint([{ name: 'config.json', bytes: configBytes }, ...raw]);
  const tensors = checkedTensors(config, weightMap, files);
  if (!format) return { weights: { config, tensors, fingerprint: id }, tokenizerJson, tokenizerConfig };
  // Other weights, other outputs: the format salts the id (prefix-KV hashes must not mix them).
  const quantized = quantizeModel(tensors, config, format);
  const salted = await sha256Hex(new TextEncoder().encode(`${id}\nweights:${option}`));
  if (source.packedCache) {
    const key = await packedKeyOf(source, source.packedCache, option);
    if (key) await source.packedCache.put(key, { fingerprint: salted, ...quantized });
  }
  return { weights: { config, ...quantized, fingerprint: salted }, tokenizerJson, tokenizerConfig };
}

/** A stored quantize-on-load result for this option and these files, or null. */
async function readPacked(source: ModelSource, cache: PackedWeightsCache, option: WeightsOption): Promise<PackedWeightsEntry | null> {
  const key = await packedKeyOf(source, cache, option);
  return key ? cache.get(key) : null;
}

/** The packed cache's key for these files (config.json, the index, each tensor file) as stored; null when one is not stored yet. */
async function packedKeyOf(source: ModelSource, cache: PackedWeightsCache, option: WeightsOption): Promise<string | null> {
  const config = await cache.digest('config.json');
  const index = await cache.digest(INDEX);
  // No stored index: a single file, or a first load (the digest of model.safetensors is then unknown too).
  const names = index ? [...new Set(readWeightMap(await fetchJsonRequired(source, INDEX)).values())] : [SINGLE];
  const digests: [string, string | null][] = [['config.json', config], ...(index ? [[INDEX, index] as [string, string]] : [])];
  for (const name of names) digests.push([name, await cache.digest(name)]);
  return packedKey(option, digests);
}

async function fetchJsonRequired(source: ModelSource, name: string): Promise<unknown> {
  return parseJsonFile(name, await fetchRequired(source, name));
}

async function optionalJson(source: ModelSource, name: string): Promise<unknown> {
  const bytes = await fetchOptional(source, name);
  return bytes ? parseJsonFile(name, bytes) : null;
}

interface TensorFiles {
  weightMap: WeightMap;
  files: Map<string, SafetensorsFile>;
  raw: { name: string; bytes: Uint8Array }[];
}

async function readTensorFiles(source: ModelSource, opts: LoadOptions): Promise<TensorFiles> {
  const indexBytes = await fetchOptional(source, INDEX);
  const weightMap = indexBytes ? readWeightMap(parseJsonFile(INDEX, indexBytes)) : null;
  if (!weightMap && source.has && !(await source.has(SINGLE))) {
    throw new ModelFormatError(SINGLE, `neither ${SINGLE} nor ${INDEX} is in ${source.describe()}`);
  }
  // Each shard is fetched once, however many tensors the index maps to it.
  const names = weightMap ? [...new Set(weightMap.values())] : [SINGLE];
  let done = 0;
  const raw = await Promise.all(
    names.map(async (name) => {
      const bytes = await fetchRequired(source, name);
      opts.onProgress?.({ file: name, filesDone: ++done, filesTotal: names.length });
      return { name, bytes };
    }),
  );
  const files = new Map(raw.map(({ name, bytes }) => [name, parseSafetensors(bytes, name)]));
  return { weightMap, files, raw };
}

function readWeightMap(index: unknown): Map<string, string> {
  const map = typeof index === 'object' && index !== null ? (index as Record<string, unknown>).weight_map : undefined;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new ModelFormatError(INDEX, 'has no weight_map object');
  }
  const out = new Map<string, string>();
  for (const [tensor, file] of Object.entries(map)) {
    if (typeof file !== 'string') throw new ModelFormatError(INDEX, `maps it to ${JSON.stringify(file)}, not a file name`, tensor);
    try {
      checkFileName(file);
    } catch {
      throw new ModelFormatError(INDEX, `maps it to ${JSON.stringify(file)}, which is not a file inside the model`, tensor);
    }
    out.set(tensor, file);
  }
  return out;
}

/** The tensors the config implies, shape-checked and widened; harmless extras are skipped. */
function checkedTensors(config: ModelConfig, weightMap: WeightMap, files: Map<string, SafetensorsFile>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of expectedTensors(config)) {
    const { file, tensor } = findTensor(name, weightMap, files);
    if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
      throw new ModelFormatError(
        file,
        `shape [${tensor.shape.join(', ')}] disagrees with config.json, which implies [${shape.join(', ')}]`,
        name,
      );
    }
    out.set(name, finite(widen(tensor), file, name, shape));
  }
  return out;
}

/** A NaN or infinity in a weight poisons every output; refused, naming the tensor and element. */
function finite(values: Float32Array, file: string, name: string, shape: readonly number[]): Float32Array {
  const i = firstNonFinite(values);
  if (i >= 0) throw new ModelFormatError(file, `holds ${values[i]} at element ${elementIndex(i, shape)}: every weight must be finite`, name);
  return values;
}

function findTensor(name: string, weightMap: WeightMap, files: Map<string, SafetensorsFile>): { file: string; tensor: Tensor } {
  const mapped = weightMap?.get(name);
  if (mapped !== undefined) {
    const tensor = files.get(mapped)?.tensors.get(name);
    if (!tensor) throw new ModelFormatError(INDEX, `maps it to ${mapped}, which does not hold it`, name);
    return { file: mapped, tensor };
  }
  // Not in the index (or no index): accept it from whichever file holds it.
  for (const [file, f] of files) {
    const tensor = f.tensors.get(name);
    if (tensor) return { file, tensor };
  }
  const where = weightMap ? INDEX : SINGLE;
  if (name === 'lm_head.weight') {
    throw new ModelFormatError(where, 'is missing, and config.json does not set tie_word_embeddings to true', name);
  }
  throw new ModelFormatError(where, 'is missing', name);
}
