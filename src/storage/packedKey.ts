import { sha256Hex } from '../model/sha256.ts';

/**
 * Bumped whenever quantize-on-load can give other bytes for the same input (a quantizer fix, a
 * new fallback rule), so that results of an older Folio are never read as this one's.
 */
export const PACKED_VERSION = 1;

/**
 * The key a quantize-on-load result is kept under: the option and the SHA-256 of every file it
 * was made from (config.json, the shard index, every tensor file), so that another option or
 * other bytes in any file cannot find it. Null when a digest is unknown (a file not stored).
 */
export async function packedKey(option: string, digests: [name: string, sha256: string | null][]): Promise<string | null> {
  if (digests.some(([, d]) => d === null)) return null;
  const files = [...digests].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256Hex(new TextEncoder().encode(JSON.stringify({ v: PACKED_VERSION, option, files })));
}
