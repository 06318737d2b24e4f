import { InvalidParamsError } from '../errors.ts';

/**
 * A value as a message shows it: JSON would print NaN and Infinity as `null`, undefined as
 * nothing, and throw on a BigInt.
 */
export function shown(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'undefined' || typeof v === 'symbol' || typeof v === 'function') return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** `p[key]`, or undefined when absent or null (OpenAI's clients send null for "not given"). */
export function optional<T>(p: Record<string, unknown>, key: string, ok: (v: unknown) => v is T, want: string): T | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (!ok(v)) throw new InvalidParamsError(key, `must be ${want}, got ${shown(v)}`);
  return v;
}

export function required<T>(p: Record<string, unknown>, key: string, ok: (v: unknown) => v is T, want: string): T {
  const v = p[key];
  if (!ok(v)) throw new InvalidParamsError(key, `must be ${want}, got ${shown(v)}`);
  return v;
}

export const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
/** Seeds must be exact: past 2^53 neighbouring integers are the same double. */
export const isSafeInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
export const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
export const isString = (v: unknown): v is string => typeof v === 'string';
export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** stream_options is only for streams (as OpenAI refuses it otherwise); its keys are booleans. */
export function checkStreamOptions(o: unknown, stream: boolean): void {
  if (o === undefined || o === null) return;
  if (!stream) throw new InvalidParamsError('stream_options', 'is only allowed with stream: true');
  if (!isRecord(o)) throw new InvalidParamsError('stream_options', 'must be an object');
  for (const key of Object.keys(o)) {
    if (key !== 'include_usage' && key !== 'include_obfuscation') throw new InvalidParamsError(`stream_options.${key}`, 'is not a known option');
    optional(o, key, isBool, 'a boolean');
  }
}
