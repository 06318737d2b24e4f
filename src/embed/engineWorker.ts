import workerSource from 'virtual:folio-engine-worker-source';
import { trustedTypesRefusal } from '../api/trustedTypesRefusal.ts';

interface TrustedTypePolicyLike {
  createScriptURL(url: string): unknown;
}
type TrustedTypesLike = { createPolicy(name: string, rules: { createScriptURL(url: string): string }): TrustedTypePolicyLike };

/** The Trusted Types policy that vouches for the URLs Folio starts workers from: its own worker's blob, and folio.js itself (a shared engine's SharedWorker). */
export const TRUSTED_TYPES_POLICY = 'folio';
let policy: TrustedTypePolicyLike | null | undefined;

/** folio.js's own URL, read while it runs from its <script> tag (null when loaded otherwise). */
export const OWN_SCRIPT: string | null = (globalThis.document?.currentScript as HTMLScriptElement | null)?.src || null;

/**
 * A blob: URL (or folio.js's own) as a TrustedScriptURL where the page requires Trusted Types
 * (a plain string is refused there), through a policy named 'folio' that passes nothing else.
 */
export function trusted(url: string): string {
  const tt = (globalThis as { trustedTypes?: TrustedTypesLike }).trustedTypes;
  if (policy === undefined) {
    try {
      policy = tt ? tt.createPolicy(TRUSTED_TYPES_POLICY, {
        createScriptURL: (u) => {
          if (!u.startsWith(`blob:${location.origin}/`) && u !== OWN_SCRIPT) throw new TypeError(`folio: refusing to trust ${u}`);
          return u;
        },
      }) : null;
    } catch {
      policy = null; // the page's trusted-types directive does not allow 'folio'
    }
  }
  return (policy ? policy.createScriptURL(url) : url) as string;
}

/**
 * The engine worker, from its source inlined in folio.js (a blob: URL, so the page's server
 * needs no configuration). A worker the page's CSP refuses at once (Trusted Types) is a
 * ContentSecurityPolicyError naming what to allow; one refused later (worker-src) fires an
 * error event, which createEngine turns into the same.
 */
export function createEngineWorker(): Worker {
  // The worker frees its own URL once it runs: revoked any earlier, the fetch could miss it.
  const url = URL.createObjectURL(new Blob(['URL.revokeObjectURL(import.meta.url);', workerSource], { type: 'text/javascript' }));
  try {
    const worker = new Worker(trusted(url), { type: 'module', name: 'folio-engine' });
    worker.addEventListener('error', () => URL.revokeObjectURL(url), { once: true });
    return worker;
  } catch (e) {
    URL.revokeObjectURL(url);
    throw trustedTypesRefusal(e, `allow Folio's policy, e.g. "trusted-types ${TRUSTED_TYPES_POLICY}"`) ?? e;
  }
}
