import { ComputeError } from '../errors.ts';
import type { CopyPair } from './BlockTable.ts';
import { copyPlanViolation } from './copyPlan.ts';

/** What a backend does with a copy plan before running it: refuses, typed, one that breaks src/kv/copyPlan.ts. */
export function checkCopyPlan(pairs: ReadonlyArray<CopyPair>, numBlocks: number): void {
  const broken = copyPlanViolation(pairs, numBlocks);
  if (broken) throw new ComputeError('internal', `refused a copy-on-write plan that is not a set of independent copies: ${broken}`);
}
