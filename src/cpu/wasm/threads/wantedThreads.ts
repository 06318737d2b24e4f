import { threadsUnavailableReason } from './ThreadPool.ts';

/** How many threads to start, and why only one where more were wanted or would be the default. */
export function wantedThreads(asked: number | undefined): { count: number; why: string | null } {
  if (asked !== undefined && (!Number.isInteger(asked) || asked < 1 || asked > 64)) throw new RangeError(`threads must be an integer from 1 to 64, got ${asked}`);
  const why = threadsUnavailableReason();
  const g = globalThis as { process?: unknown; navigator?: { hardwareConcurrency?: number } };
  if (asked === undefined) {
    if (g.process !== undefined) return { count: 1, why: null }; // Node: threads when asked for
    if (why) return { count: 1, why };
    return { count: Math.max(1, Math.min(g.navigator?.hardwareConcurrency ?? 1, 8)), why: null };
  }
  if (asked > 1 && why) return { count: 1, why };
  return { count: asked, why: null };
}
