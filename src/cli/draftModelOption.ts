import { InvalidParamsError } from '../errors.ts';
import { weightsChoice, type WeightsChoice } from '../quant/quantizeModel.ts';

/**
 * `--draft-model <dir|url|file.gguf> [--draft-weights F]`, the drafter of `--speculative draft`:
 * refused by name alone (without that method). On `--backend webgpu` the page server serves a
 * local draft model's folder beside the model's (generateInBrowser.ts).
 */
export function draftModelOption(model: string | undefined, weights: string | undefined, speculative: string | undefined): { draftModel?: string; draftWeights?: WeightsChoice } {
  if (model === undefined) {
    if (weights !== undefined) throw new InvalidParamsError('draft-weights', 'needs --draft-model');
    return {};
  }
  if (speculative !== 'draft') throw new InvalidParamsError('draft-model', 'needs --speculative draft');
  let draftWeights: WeightsChoice | undefined;
  try {
    draftWeights = weights === undefined ? undefined : weightsChoice(weights);
  } catch (e) {
    throw e instanceof InvalidParamsError ? new InvalidParamsError('draft-weights', e.message.replace(/^weights: /, '')) : e;
  }
  return { draftModel: model, draftWeights };
}
