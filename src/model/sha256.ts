import { sha256 } from '@noble/hashes/sha2.js';

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * SHA-256 as lowercase hex. WebCrypto where the page has it; browsers hide crypto.subtle
 * outside secure contexts (plain http on a non-localhost host), and there @noble/hashes
 * computes the same digest in JavaScript, so the CPU backend and the caches still work.
 */
export async function sha256Hex(data: ArrayBufferView): Promise<string> {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return hex(sha256(view));
  return hex(new Uint8Array(await subtle.digest('SHA-256', view as Uint8Array<ArrayBuffer>)));
}
