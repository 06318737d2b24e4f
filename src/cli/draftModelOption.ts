import { InvalidParamsError } from '../errors.ts';
import { weightsChoice, type WeightsChoice } from '../quant/quantizeModel.ts';

/**
 * `--draft-model <dir|url|file.gguf> [--draft-weights F]`, the drafter of `--speculative draft`:
 * refused by name alone (without that method) and on `--backend webgpu`, whose page server
 * serves the model's folder only.
 */
export function draftModelOption(model: string | undefined, weights: string | undefined, speculative: string | undefined, backend: string | undefined): { draftModel?: string; draftWeights?: WeightsChoice } {
  if (model === undefined) {
    if (weights !== undefined) throw new InvalidParamsError('draft-weights', 'needs --draft-model');
    return {};
  }
  if (speculative !== 'draft') throw new InvalidParamsError('draft-model', 'needs --speculative draft');
  if (backend !== 'cpu') throw new InvalidParamsError('draft-model', 'runs with --backend cpu only for now');
  let draftWeights: WeightsChoice | undefined;
  try {
    draftWeights = weights === undefined ? undefined : weightsChoice(weights);
  } catch (e) {
    throw e instanceof InvalidParamsError ? new InvalidParamsError('draft-weights', e.message.replace(/^weights: /, '')) : e;
  }
  return { draftModel: model, draftWeights };
}
