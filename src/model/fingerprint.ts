/** One file that identifies a model: its name inside the model and its bytes. */
export interface FingerprintPart {
  name: string;
  bytes: Uint8Array;
}

const hex = (buf: ArrayBuffer): string =>
  Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

function subtleCrypto(): SubtleCrypto {
  const subtle = globalThis.crypto?.subtle;
  // Browsers hide crypto.subtle outside secure contexts (https or localhost).
  if (!subtle) throw new Error('crypto.subtle is unavailable: serve the page over https or from localhost');
  return subtle;
}

/**
 * A stable hex id of a model's exact weights: SHA-256 over a manifest of
 * "name:sha256(bytes)" lines for config.json and each tensor file, sorted by name, so the
 * order files arrive in does not matter. Every byte is hashed (no sampling): WebCrypto's
 * native SHA-256 runs near memory speed, small next to a download or an IndexedDB read.
 */
export async function fingerprint(parts: FingerprintPart[]): Promise<string> {
  const subtle = subtleCrypto();
  const digests = await Promise.all(
    parts.map(async (p) => `${p.name}:${hex(await subtle.digest('SHA-256', p.bytes as Uint8Array<ArrayBuffer>))}`),
  );
  const manifest = ['folio-weights-v1', ...digests.sort()].join('\n');
  return hex(await subtle.digest('SHA-256', new TextEncoder().encode(manifest)));
}
