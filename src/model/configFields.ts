import { ConfigError } from '../errors.ts';

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value as a message shows it: JSON where JSON can spell it, else its own text (NaN, Infinity). */
export function show(v: unknown): string {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : (JSON.stringify(v) ?? String(v));
}

/**
 * Typed reads from one JSON object of config.json (the top level, or a nested one such as
 * rope_parameters), each defect a ConfigError naming the field by its full path.
 */
export class Fields {
  constructor(
    readonly obj: Json,
    readonly file: string,
    private readonly prefix = '',
  ) {}

  path(field: string): string {
    return this.prefix + field;
  }

  fail(field: string, message: string): never {
    throw new ConfigError(this.file, message, this.path(field));
  }

  /** Set to something other than null: transformers treats null as absent. */
  has(field: string): boolean {
    return this.obj[field] !== undefined && this.obj[field] !== null;
  }

  /** An integer in [min, max]; `fallback` when absent (required when there is none). */
  int(field: string, max: number, fallback?: number, min = 1): number {
    const v = this.has(field) ? this.obj[field] : fallback;
    if (v === undefined) this.fail(field, 'required field is missing');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      this.fail(field, `must be an integer >= ${min}, got ${show(v)}`);
    }
    if (v > max) this.fail(field, `${v} is larger than Folio accepts (at most ${max})`);
    return v;
  }

  /** A finite number > 0 (and <= max); `fallback` when absent (required when there is none). */
  num(field: string, fallback?: number, max = Number.MAX_VALUE): number {
    const v = this.has(field) ? this.obj[field] : fallback;
    if (v === undefined) this.fail(field, 'required field is missing');
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(field, `must be a finite number > 0, got ${show(v)}`);
    if (v > max) this.fail(field, `${v} is larger than Folio accepts (at most ${max})`);
    return v;
  }

  bool(field: string, fallback: boolean): boolean {
    if (!this.has(field)) return fallback;
    const v = this.obj[field];
    if (typeof v !== 'boolean') this.fail(field, `must be true or false, got ${show(v)}`);
    return v;
  }

  /** A nested object, or null when absent. */
  object(field: string): Fields | null {
    if (!this.has(field)) return null;
    const v = this.obj[field];
    if (!isObject(v)) this.fail(field, `must be an object or null, got ${show(v)}`);
    return new Fields(v, this.file, `${this.path(field)}.`);
  }
}
