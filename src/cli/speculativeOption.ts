import { InvalidParamsError } from '../errors.ts';
import { parseSpeculative, type SpeculativeOption } from '../speculative/speculativeParams.ts';
import type { GenerateRequest } from './GenerateRequest.ts';
import { numberOption } from './promptOptions.ts';

/**
 * `--speculative ngram [--speculative-k N]`, checked as a request's `speculative` is; refused by
 * name with what the speculative loop does not run (a KV limit, a grammar), and 'draft' without
 * a draft model.
 */
export function speculativeOption(method: string | undefined, k: string | undefined, req: GenerateRequest): SpeculativeOption | undefined {
  if (method === undefined) {
    if (k !== undefined) throw new InvalidParamsError('speculative-k', 'needs --speculative');
    return undefined;
  }
  if (req.kv) throw new InvalidParamsError('speculative', 'cannot be combined with --kv-budget or --context-shift');
  if (req.grammar) throw new InvalidParamsError('speculative', 'cannot be combined with --json-schema or --grammar');
  try {
    return parseSpeculative({ method, ...(k !== undefined ? { k: numberOption('speculative-k', k) } : {}) }, req.draftModel ?? null);
  } catch (e) {
    // The CLI's names for the option's fields.
    if (e instanceof InvalidParamsError && e.param === 'speculative.k') throw new InvalidParamsError('speculative-k', e.message.replace(/^speculative\.k: /, ''));
    if (e instanceof InvalidParamsError && e.param === 'speculative.method') throw new InvalidParamsError('speculative', e.message.replace(/^speculative\.method: /, ''));
    throw e;
  }
}
