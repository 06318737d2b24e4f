import * as Comlink from 'comlink';
import * as errors from '../errors.ts';

interface SerializedError {
  name: string;
  message: string;
  code?: string;
  fields: Record<string, unknown>;
  stack?: string;
}

type ErrorClass = new (...args: never[]) => errors.FolioError;
const CLASSES: Record<string, ErrorClass> = Object.fromEntries(
  Object.entries(errors).filter(([, v]) => typeof v === 'function' && (v === errors.FolioError || v.prototype instanceof errors.FolioError)),
) as Record<string, ErrorClass>;

/** Rebuilds a FolioError of the right class without calling its constructor (whose message is derived). */
function revive(s: SerializedError): Error {
  const cls = CLASSES[s.name];
  const e: Error = cls ? (Object.create(cls.prototype) as Error) : new Error();
  Object.assign(e, s.fields);
  Object.defineProperty(e, 'message', { value: s.message, writable: true, configurable: true });
  Object.defineProperty(e, 'name', { value: s.name, writable: true, configurable: true });
  if (s.stack) Object.defineProperty(e, 'stack', { value: s.stack, writable: true, configurable: true });
  return e;
}

function serialize(e: Error): SerializedError {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (v === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof v)) fields[k] = v;
  return { name: e.name, message: e.message, fields, stack: e.stack };
}

/**
 * Comlink's default 'throw' handler turns every error into a plain Error; this one keeps
 * Folio's typed errors (class, code, fields, message) across the worker boundary, so a page
 * can `catch (e) { if (e instanceof KvCacheFullError) ... }`. Call on both sides.
 */
export function installErrorTransfer(): void {
  const original = Comlink.transferHandlers.get('throw')!;
  Comlink.transferHandlers.set('throw', {
    canHandle: original.canHandle,
    serialize(thrown: unknown) {
      const value = (thrown as { value: unknown }).value;
      if (value instanceof Error) return [{ isError: true, value: serialize(value) }, []];
      return original.serialize(thrown);
    },
    deserialize(s: unknown) {
      const { isError, value } = s as { isError: boolean; value: unknown };
      if (isError && value && typeof value === 'object' && 'fields' in value) throw revive(value as SerializedError);
      return original.deserialize(s);
    },
  } as Comlink.TransferHandler<unknown, unknown>);
}

export { revive as reviveError, serialize as serializeError };
