import type { MetadataValue } from '@huggingface/gguf';
import { ConfigError } from '../errors.ts';

/**
 * Typed reads of a GGUF file's metadata; every defect is a ConfigError naming the file and the
 * key. Integers may arrive as numbers or (u64, i64) bigints, and are read as numbers.
 */
export class Metadata {
  constructor(
    readonly values: Record<string, MetadataValue>,
    readonly file: string,
  ) {}

  has(key: string): boolean {
    return this.values[key] !== undefined;
  }

  fail(key: string, message: string): never {
    throw new ConfigError(this.file, message, key);
  }

  string(key: string, fallback?: string): string {
    const v = this.values[key] ?? fallback;
    if (v === undefined) this.fail(key, 'required metadata is missing');
    if (typeof v !== 'string') this.fail(key, `must be a string, got ${show(v)}`);
    return v;
  }

  /** An integer in [min, max]; `fallback` when absent (required when there is none). */
  int(key: string, max: number, fallback?: number, min = 1): number {
    const raw = this.values[key];
    const v = raw === undefined ? fallback : typeof raw === 'bigint' ? Number(raw) : raw;
    if (v === undefined) this.fail(key, 'required metadata is missing');
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) this.fail(key, `must be an integer >= ${min}, got ${show(raw)}`);
    if (v > max) this.fail(key, `${v} is larger than Folio accepts (at most ${max})`);
    return v;
  }

  /** A finite number > 0; `fallback` when absent. */
  num(key: string, fallback?: number): number {
    const v = this.values[key] ?? fallback;
    if (v === undefined) this.fail(key, 'required metadata is missing');
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(key, `must be a finite number > 0, got ${show(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.values[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${show(v)}`);
    return v;
  }

  /** A token id, or null when absent. */
  tokenId(key: string, vocabSize: number): number | null {
    return this.has(key) ? this.int(key, vocabSize - 1, undefined, 0) : null;
  }

  strings(key: string): string[] {
    const v = this.values[key];
    if (v === undefined) this.fail(key, 'required metadata is missing');
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) this.fail(key, 'must be an array of strings');
    return v as string[];
  }

  /** An array of numbers of exactly `length` entries (one per token, say), or null when absent. */
  numbers(key: string, length: number): number[] | null {
    const v = this.values[key];
    if (v === undefined) return null;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) this.fail(key, 'must be an array of numbers');
    if (v.length !== length) this.fail(key, `has ${v.length} entries, expected ${length}`);
    return v as number[];
  }
}

function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return JSON.stringify(v) ?? String(v);
}
