/**
 * Adaptive draft length: a sequence whose drafts were all accepted drafts one more next time (up
 * to its request's k); one whose draft was cut drafts at most one past what was accepted, and
 * one less than before, never under 1. Rows spent on drafts that fail cost the step's budget,
 * while a draft that keeps being accepted earns more tokens per forward.
 */
export function nextK(k: number, drafted: number, accepted: number, maxK: number): number {
  if (drafted === 0) return k;
  if (accepted === drafted) return Math.min(maxK, drafted === k ? k + 1 : k);
  return Math.max(1, Math.min(k - 1, accepted + 1));
}
