import * as Comlink from 'comlink';
import * as errors from '../errors.ts';

/** An error as it crosses the worker: plain data, since structured clone drops a class and its fields. */
export interface SerializedError {
  name: string;
  message: string;
  fields: Record<string, unknown>;
  stack?: string;
}

export type ErrorClass = (new (...args: never[]) => errors.FolioError) & { errorName: string };

/** Every error class src/errors.ts exports, by export name. */
export function errorClasses(): [string, ErrorClass][] {
  return (Object.entries(errors) as [string, unknown][]).filter(
    (e): e is [string, ErrorClass] => typeof e[1] === 'function' && (e[1] === errors.FolioError || e[1].prototype instanceof errors.FolioError),
  );
}

/** Folio's classes by their explicit name (never by `constructor.name`, which minifiers change). */
const CLASSES = new Map<string, ErrorClass>(errorClasses().map(([, cls]) => [cls.errorName, cls]));

/** The built-in errors a caller may test with instanceof (a TypeError from bad input, say). */
const BUILTINS: Record<string, ErrorConstructor> = { Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };

/** Rebuilds an error of the right class without calling its constructor (whose message is derived). */
function revive(s: SerializedError): Error {
  const cls = CLASSES.get(s.name);
  let e: Error;
  if (cls) e = Object.create(cls.prototype) as Error;
  else if (Object.hasOwn(BUILTINS, s.name)) e = new BUILTINS[s.name]();
  else if (typeof DOMException === 'function' && s.fields.isDomException === true) e = new DOMException(s.message, s.name);
  else e = new Error();
  const { isDomException: _, ...fields } = s.fields;
  if (!(e instanceof DOMException)) Object.assign(e, fields);
  Object.defineProperty(e, 'message', { value: s.message, writable: true, configurable: true });
  Object.defineProperty(e, 'name', { value: s.name, writable: true, configurable: true });
  if (s.stack) Object.defineProperty(e, 'stack', { value: s.stack, writable: true, configurable: true });
  return e;
}

const isPlain = (v: unknown): boolean => v === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof v);

function serialize(e: Error): SerializedError {
  const fields: Record<string, unknown> = {};
  // Lists of strings too: a NetworkError's partialText, each choice's text before a stream dropped.
  for (const [k, v] of Object.entries(e)) if (isPlain(v) || (Array.isArray(v) && v.every((x) => typeof x === 'string'))) fields[k] = v;
  if (typeof DOMException === 'function' && e instanceof DOMException) fields.isDomException = true;
  return { name: e.name, message: e.message, fields, stack: e.stack };
}

/** Anything thrown, as an Error to serialize (a thrown string becomes an Error's message). */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

/**
 * Comlink's default 'throw' handler turns every error into a plain Error; this one keeps
 * Folio's typed errors (class, name, code, fields, message) across the worker boundary, so a
 * page can `catch (e) { if (e instanceof KvCacheFullError) ... }`. Call on both sides.
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
