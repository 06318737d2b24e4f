import { InvalidParamsError } from '../errors.ts';

/** OpenAI's frequency and presence penalties; 0 is none. */
export interface Penalties {
  frequency: number;
  presence: number;
}

export const NO_PENALTIES: Penalties = { frequency: 0, presence: 0 };

/** OpenAI's bound: both penalties lie in [-2, 2]. */
const LIMIT = 2;

function check(name: string, v: number | undefined): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > LIMIT) throw new InvalidParamsError(name, `must be a number from -2 to 2, got ${String(v)}`);
  return v;
}

/** Validates `frequency_penalty` and `presence_penalty`, each absent meaning 0. */
export function penalties(frequency: number | undefined, presence: number | undefined): Penalties {
  return { frequency: check('frequency_penalty', frequency), presence: check('presence_penalty', presence) };
}

export function hasPenalties(p: Penalties): boolean {
  return p.frequency !== 0 || p.presence !== 0;
}
