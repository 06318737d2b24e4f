import { InvalidParamsError } from '../errors.ts';

export interface SamplingParams {
  /** 0 means greedy. */
  temperature: number;
  /** 1 keeps the whole distribution. */
  topP: number;
  /** 0 keeps every token. */
  topK: number;
  /** 1 is none; > 1 discourages tokens already in the sequence (CTRL-style, as llama.cpp). */
  repetitionPenalty: number;
  seed: number | null;
}

export const GREEDY: SamplingParams = { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, seed: null };

function check(name: string, v: number, ok: boolean, want: string): void {
  if (typeof v !== 'number' || Number.isNaN(v) || !ok) throw new InvalidParamsError(name, `must be ${want}, got ${String(v)}`);
}

/** Validates and fills in defaults; refuses a bad value with InvalidParamsError. */
export function samplingParams(p: { [K in keyof SamplingParams]?: SamplingParams[K] | undefined }): SamplingParams {
  const given = Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined));
  const s: SamplingParams = { ...GREEDY, temperature: 1, ...given };
  check('temperature', s.temperature, s.temperature >= 0 && Number.isFinite(s.temperature), 'a finite number >= 0');
  check('top_p', s.topP, s.topP > 0 && s.topP <= 1, 'in (0, 1]');
  check('top_k', s.topK, Number.isInteger(s.topK) && s.topK >= 0, 'an integer >= 0');
  check('repetition_penalty', s.repetitionPenalty, s.repetitionPenalty > 0 && Number.isFinite(s.repetitionPenalty), 'a finite number > 0');
  // Past 2^53 neighbouring integers are one double: such a seed cannot mean what was asked.
  if (s.seed !== null) check('seed', s.seed, Number.isSafeInteger(s.seed), 'an integer from -(2^53 - 1) to 2^53 - 1');
  return s;
}
