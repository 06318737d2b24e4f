import { InvalidParamsError } from '../errors.ts';

/**
 * The options `folio generate` takes whether the model runs here or on a server (--remote):
 * the model, the prompt, the sampling parameters and the output shape.
 */
export const PROMPT_OPTIONS = {
  model: { type: 'string' },
  prompt: { type: 'string', default: '' },
  'max-tokens': { type: 'string', default: '128' },
  temperature: { type: 'string', default: '0' },
  'top-p': { type: 'string' },
  'top-k': { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/** A numeric option's value, refused by name when it is not a number. */
export function numberOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || Number.isNaN(n)) throw new InvalidParamsError(name, `must be a number, got ${JSON.stringify(v)}`);
  return n;
}
