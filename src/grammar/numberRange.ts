/**
 * GBNF for the decimal integers in [lo, hi] (non-negative, finite), as alternatives of digit
 * sequences: the classic range-to-pattern split, so that a schema's `minimum`/`maximum` hold by
 * construction rather than by chance.
 */
export function digitRange(lo: number, hi: number): string[] {
  if (lo > hi) return [];
  const dl = String(lo).length;
  const dh = String(hi).length;
  if (dl < dh) return [...digitRange(lo, 10 ** dl - 1), ...digitRange(10 ** dl, hi)];
  return sameLength(String(lo), String(hi));
}

const d = (a: string, b: string) => (a === b ? `"${a}"` : `[${a}-${b}]`);
const any = (n: number) => (n === 0 ? '' : n === 1 ? ' [0-9]' : ` [0-9]{${n}}`);

function sameLength(a: string, b: string): string[] {
  if (a.length === 1) return [d(a, b)];
  if (a[0] === b[0]) return sameLength(a.slice(1), b.slice(1)).map((s) => `"${a[0]}" ${s}`);
  const rest = a.length - 1;
  const lowFull = /^0*$/.test(a.slice(1));
  const highFull = /^9*$/.test(b.slice(1));
  const out: string[] = [];
  if (!lowFull) out.push(...sameLength(a.slice(1), '9'.repeat(rest)).map((s) => `"${a[0]}" ${s}`));
  const from = lowFull ? Number(a[0]) : Number(a[0]) + 1;
  const to = highFull ? Number(b[0]) : Number(b[0]) - 1;
  if (from <= to) out.push(`${d(String(from), String(to))}${any(rest)}`);
  if (!highFull) out.push(...sameLength('0'.repeat(rest), b.slice(1)).map((s) => `"${b[0]}" ${s}`));
  return out;
}

/** Integers beyond this many digits are not generated: 16 digits keep JSON's integers exact enough. */
export const MAX_DIGITS = 15;
const CAP = 10 ** MAX_DIGITS - 1;

/** GBNF alternatives for the integers in [min, max] (either side may be infinite: capped at 15 digits). */
export function integerRange(min: number, max: number): string[] {
  const lo = Math.max(min, -CAP);
  const hi = Math.min(max, CAP);
  const out: string[] = [];
  if (hi >= 0) out.push(...digitRange(Math.max(lo, 0), hi));
  // Negative values: "-" then magnitudes in [max(1, -hi), -lo].
  if (lo < 0) out.push(...digitRange(Math.max(1, -hi), -lo).map((s) => `"-" ${s}`));
  return out;
}

/** A value with a fraction: integer-range patterns of the integer part, then up to 6 fraction digits. */
const FRACTION = '"." [0-9]{1,6}';

/**
 * GBNF alternatives for the numbers in [min, max] with integer (or infinite) bounds: the
 * integers in range, and N.F for integer parts that keep N.F inside (N <= max - 1 above zero,
 * -N.F >= min below).
 */
export function numberRange(min: number, max: number): string[] {
  const lo = Math.max(min, -CAP);
  const hi = Math.min(max, CAP);
  const out = integerRange(lo, hi);
  const posLo = Math.max(lo, 0);
  if (hi - 1 >= posLo) out.push(...digitRange(posLo, hi - 1).map((s) => `${s} ${FRACTION}`));
  const negLo = hi >= 0 ? 0 : -hi;
  if (-lo - 1 >= negLo) out.push(...digitRange(negLo, -lo - 1).map((s) => `"-" ${s} ${FRACTION}`));
  return out;
}
