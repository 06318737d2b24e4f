import { ContentSecurityPolicyError } from '../errors.ts';

/**
 * The typed error for a worker the page's Trusted Types refused (Chromium throws a TypeError
 * from `new Worker` when given a plain string URL), or null when `thrown` is something else.
 */
export function trustedTypesRefusal(thrown: unknown, fix: string): ContentSecurityPolicyError | null {
  if (!(thrown instanceof TypeError) || !/TrustedScriptURL/.test(thrown.message)) return null;
  const error = new ContentSecurityPolicyError('trusted-types', `the page requires Trusted Types and refused Folio's engine worker: ${fix}`);
  error.cause = thrown;
  return error;
}
