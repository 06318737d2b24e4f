import { sha256Hex } from './sha256.ts';

/** One file that identifies a model: its name inside the model and its bytes. */
export interface FingerprintPart {
  name: string;
  bytes: Uint8Array;
}

/**
 * A stable hex id of a model's exact weights: SHA-256 over a manifest of
 * "name:sha256(bytes)" lines for config.json and each tensor file, sorted by name, so the
 * order files arrive in does not matter. Every byte is hashed (no sampling): WebCrypto's
 * native SHA-256 runs near memory speed, small next to a download or an IndexedDB read.
 */
export async function fingerprint(parts: FingerprintPart[]): Promise<string> {
  const digests = await Promise.all(parts.map(async (p) => `${p.name}:${await sha256Hex(p.bytes)}`));
  const manifest = ['folio-weights-v1', ...digests.sort()].join('\n');
  return sha256Hex(new TextEncoder().encode(manifest));
}
