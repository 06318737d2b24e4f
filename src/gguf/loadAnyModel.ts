import { type LoadedModel, loadModel, type LoadOptions } from '../model/loadModel.ts';
import type { ModelSource } from '../model/ModelSource.ts';
import { loadGguf } from './loadGguf.ts';

/**
 * A model from either path users take: one GGUF file (a source with `ggufFile`, as openSource
 * gives for a `.gguf` spec) or a Hugging Face folder. Here rather than in loadModel because the
 * model room does not import gguf (gguf builds on model).
 */
export function loadAnyModel(source: ModelSource, opts: LoadOptions = {}): Promise<LoadedModel> {
  return source.ggufFile ? loadGguf(source, opts) : loadModel(source, opts);
}
