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

/** Fraction digits written: 6 keep every number with an integer part below 1e9 at 15 significant digits or fewer, which a double holds exactly. */
const FRACTION_DIGITS = 6;

/** One side of a number range: `value` may be reached unless `exclusive`. */
export interface Bound {
  value: number;
  exclusive: boolean;
}

/** A bound on a non-negative decimal: its integer part and fraction digits (shortest form, as written in the schema). */
interface Decimal {
  int: number;
  frac: string;
  strict: boolean;
}

/**
 * GBNF alternatives for the JSON numbers x with lo <= x <= hi (< where exclusive; null: no
 * bound), written with up to 6 fraction digits and no exponent, compared digit by digit with
 * the bounds' shortest decimal forms. Exact: a text is generated iff its value is in range,
 * where Ajv compares doubles, because every text has at most 15 significant digits (a double
 * keeps them) -- except past 1e9, where an exclusive bound is replaced by the nearest integer
 * inside it (a subset: fractions close to such a bound are not generated). Integer parts are
 * capped at 15 digits, as for integers.
 */
export function numberRange(lo: Bound | null, hi: Bound | null): string[] {
  const inside = (b: Bound | null, up: boolean): Bound | null => {
    if (!b) return null;
    if (!b.exclusive || Math.abs(b.value) < 1e9) return { value: Math.max(-CAP, Math.min(CAP, b.value)), exclusive: b.exclusive };
    return { value: Math.max(-CAP, Math.min(CAP, up ? Math.ceil(b.value) - 1 : Math.floor(b.value) + 1)), exclusive: false };
  };
  const low = inside(lo, false) ?? { value: -CAP, exclusive: false };
  const high = inside(hi, true) ?? { value: CAP, exclusive: false };
  const out: string[] = [];
  // x >= 0: magnitudes in [max(low, 0), high]; x < 0: "-" and magnitudes in (0 or -high, -low].
  if (high.value >= 0) out.push(...unsigned(low.value >= 0 ? decimal(low) : { int: 0, frac: '', strict: false }, decimal(high)));
  if (low.value < 0) {
    const from = high.value < 0 ? decimal({ value: -high.value, exclusive: high.exclusive }) : { int: 0, frac: '', strict: true };
    out.push(...unsigned(from, decimal({ value: -low.value, exclusive: low.exclusive })).map((a) => `"-" ${a}`));
  }
  return out;
}

/** Integer bounds, both inclusive: numberRange's common case. */
export const numberRangeInclusive = (min: number, max: number): string[] =>
  numberRange(min === -Infinity ? null : { value: min, exclusive: false }, max === Infinity ? null : { value: max, exclusive: false });

/** |b.value| in shortest decimal form (1e-7 as 0.0000001). */
function decimal(b: Bound): Decimal {
  const v = Math.abs(b.value);
  const [mant, exp = '0'] = String(v).split('e');
  const [ip, fp = ''] = mant.split('.');
  const digits = ip + fp;
  const point = ip.length + Number(exp);
  const whole = point <= 0 ? '0' : digits.slice(0, point).padEnd(point, '0');
  const frac = point <= 0 ? '0'.repeat(-point) + digits : digits.slice(point);
  return { int: Number(whole), frac: frac.replace(/0+$/, ''), strict: b.exclusive };
}

/** Unsigned decimals N or N.F with lo <= value <= hi (strict where marked). */
function unsigned(lo: Decimal, hi: Decimal): string[] {
  if (lo.int > hi.int) return [];
  const after = (l: Decimal | null, h: Decimal | null): string | null => {
    const { alts, empty } = fractions(l && { digits: l.frac, strict: l.strict }, h && { digits: h.frac, strict: h.strict }, FRACTION_DIGITS);
    const dotted = alts.length === 0 ? null : `"." ( ${alts.join(' | ')} )`;
    if (dotted === null) return empty ? '' : null;
    return empty ? ` ( ${dotted} )?` : ` ${dotted}`;
  };
  const withTail = (ints: string[], tail: string | null): string[] => (tail === null ? [] : ints.map((n) => `${n}${tail}`));
  if (lo.int === hi.int) return withTail(digitRange(lo.int, lo.int), after(lo, hi));
  return [
    ...withTail(digitRange(lo.int, lo.int), after(lo, null)),
    ...withTail(digitRange(lo.int + 1, hi.int - 1), after(null, null)),
    ...withTail(digitRange(hi.int, hi.int), after(null, hi)),
  ];
}

interface FractionBound {
  digits: string;
  strict: boolean;
}

/**
 * Digit strings s of at most k digits with 0.lo <= 0.s <= 0.hi (< where strict; null: no
 * bound): the non-empty ones as GBNF alternatives, and whether the empty one (0) is among them. Digit by
 * digit: a first digit above lo's (below hi's) frees that side; equal to it, the rest must
 * meet the rest of the bound.
 */
function fractions(lo: FractionBound | null, hi: FractionBound | null, k: number): { alts: string[]; empty: boolean } {
  const zero = (b: FractionBound) => /^0*$/.test(b.digits);
  const empty = (!lo || (zero(lo) && !lo.strict)) && (!hi || !(zero(hi) && hi.strict));
  if (k === 0) return { alts: [], empty };
  const alts: string[] = [];
  const ld = lo ? Number(lo.digits[0] ?? '0') : 0;
  const hd = hi ? Number(hi.digits[0] ?? '0') : 9;
  // Digits strictly between the bounds' first digits: anything may follow.
  const from = lo ? ld + 1 : 0;
  const to = hi ? hd - 1 : 9;
  if (from <= to) alts.push(`${from === to ? `"${from}"` : `[${from}-${to}]`}${k > 1 ? ` [0-9]{0,${k - 1}}` : ''}`);
  const rest = (b: FractionBound | null) => b && { digits: b.digits.slice(1), strict: b.strict };
  const follow = (d: number, l: FractionBound | null, h: FractionBound | null) => {
    const sub = fractions(l, h, k - 1);
    const tail = sub.alts.length === 0 ? null : `( ${sub.alts.join(' | ')} )`;
    if (sub.empty) alts.push(tail ? `"${d}" ${tail}?` : `"${d}"`);
    else if (tail) alts.push(`"${d}" ${tail}`);
  };
  if (lo && hi && ld === hd) follow(ld, rest(lo), rest(hi));
  else {
    if (lo && ld <= hd) follow(ld, rest(lo), null);
    if (hi && hd >= ld) follow(hd, null, rest(hi));
  }
  return { alts, empty };
}
