/**
 * Every error Folio raises on purpose. Each has a stable `code` so that it can be
 * rebuilt on the other side of the worker boundary with the same class and message.
 */
export type FolioErrorCode =
  | 'MODEL_FORMAT'
  | 'CONFIG'
  | 'TOKENIZER'
  | 'INVALID_PARAMS'
  | 'CONTEXT_LENGTH'
  | 'KV_CACHE_FULL'
  | 'ABORTED'
  | 'WEBGPU_UNAVAILABLE'
  | 'MODEL_TOO_LARGE'
  | 'DEVICE_LOST'
  | 'STORAGE'
  | 'NETWORK'
  | 'ENGINE_CLOSED'
  | 'CSP_BLOCKED'
  | 'COMPUTE'
  | 'AUTH'
  | 'GRAMMAR_DEAD_END';

/**
 * Every class below declares `static readonly errorName`, spelled as the class: minifiers rename
 * classes (`new.target.name` is "C" in folio.js), and the name is how an error finds its class
 * again after crossing the worker (src/api/errorTransfer.ts). A test checks each class has one.
 */
export class FolioError extends Error {
  static readonly errorName: string = 'FolioError';
  readonly code: FolioErrorCode;
  constructor(code: FolioErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = Object.hasOwn(new.target, 'errorName') ? (new.target as typeof FolioError).errorName : new.target.name;
  }
}

/** A weights file that cannot be read: names the file and, where known, the tensor. */
export class ModelFormatError extends FolioError {
  static override readonly errorName = 'ModelFormatError';
  readonly file: string;
  readonly tensor: string | undefined;
  constructor(file: string, message: string, tensor?: string) {
    super('MODEL_FORMAT', `${file}${tensor ? ` (tensor ${tensor})` : ''}: ${message}`);
    this.file = file;
    this.tensor = tensor;
  }
}

/** A config.json that is missing a field or holds a value Folio cannot run. */
export class ConfigError extends FolioError {
  static override readonly errorName = 'ConfigError';
  readonly file: string;
  readonly field: string | undefined;
  constructor(file: string, message: string, field?: string) {
    super('CONFIG', `${file}${field ? ` (field ${field})` : ''}: ${message}`);
    this.file = file;
    this.field = field;
  }
}

export class TokenizerError extends FolioError {
  static override readonly errorName = 'TokenizerError';
  constructor(message: string) {
    super('TOKENIZER', message);
  }
}

/** A request parameter out of range or of the wrong type; raised before anything is allocated. */
export class InvalidParamsError extends FolioError {
  static override readonly errorName: string = 'InvalidParamsError';
  readonly param: string;
  constructor(param: string, message: string) {
    super('INVALID_PARAMS', `${param}: ${message}`);
    this.param = param;
  }
}

export class ContextLengthError extends FolioError {
  static override readonly errorName = 'ContextLengthError';
  constructor(readonly promptTokens: number, readonly maxTokens: number, readonly contextLength: number) {
    // maxTokens 0: none were asked for, and the prompt alone leaves no room for one.
    super(
      'CONTEXT_LENGTH',
      maxTokens > 0
        ? `the prompt has ${promptTokens} tokens and ${maxTokens} more were asked for, but the model's context holds ${contextLength}`
        : `the prompt has ${promptTokens} tokens, which leaves no room to generate any in the model's context of ${contextLength}; shorten the prompt`,
    );
  }
}

export class KvCacheFullError extends FolioError {
  static override readonly errorName = 'KvCacheFullError';
  constructor(message: string) {
    super('KV_CACHE_FULL', message);
  }
}

export class AbortError extends FolioError {
  static override readonly errorName = 'AbortError';
  constructor(message = 'the request was aborted') {
    super('ABORTED', message);
  }
}

export class WebGpuUnavailableError extends FolioError {
  static override readonly errorName = 'WebGpuUnavailableError';
  constructor(message: string) {
    super('WEBGPU_UNAVAILABLE', message);
  }
}

/**
 * Weights the GPU cannot hold: one row wider than a storage binding may be, or more bytes than the
 * device can allocate. Names the bytes needed and what the adapter offers.
 */
export class ModelTooLargeError extends FolioError {
  static override readonly errorName = 'ModelTooLargeError';
  readonly bytesNeeded: number;
  /** null where the device does not say (it ran out of memory allocating the bytes needed). */
  readonly bytesOffered: number | null;
  constructor(what: string, bytesNeeded: number, bytesOffered: number | null, offer: string) {
    super('MODEL_TOO_LARGE', `${what} needs ${bytesNeeded} bytes, but ${offer}${bytesOffered === null ? '' : ` is ${bytesOffered} bytes`}`);
    this.bytesNeeded = bytesNeeded;
    this.bytesOffered = bytesOffered;
  }
}

export class DeviceLostError extends FolioError {
  static override readonly errorName = 'DeviceLostError';
  constructor(message: string) {
    super('DEVICE_LOST', message);
  }
}

export class StorageError extends FolioError {
  static override readonly errorName = 'StorageError';
  constructor(message: string) {
    super('STORAGE', message);
  }
}

/** What a remote server's failure adds to a NetworkError (src/remote/): each field where known. */
export interface NetworkErrorDetails {
  /** The HTTP status (429, 5xx), absent for a connection that failed or dropped. */
  status?: number;
  /** Seconds the server asked to wait before retrying (its Retry-After header). */
  retryAfterSeconds?: number;
  /** A stream that dropped mid-answer: each choice's text so far, by choice index. */
  partialText?: string[];
}

export class NetworkError extends FolioError {
  static override readonly errorName = 'NetworkError';
  readonly status: number | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly partialText: string[] | undefined;
  constructor(readonly url: string, message: string, details: NetworkErrorDetails = {}) {
    super('NETWORK', `${url}: ${message}`);
    this.status = details.status;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.partialText = details.partialText;
  }
}

/**
 * A remote server refused the credentials (HTTP 401: missing or wrong API key; 403: the key may
 * not do this). Keep the key in a proxy, not in the page: see the README's remote section.
 */
export class AuthError extends FolioError {
  static override readonly errorName = 'AuthError';
  constructor(readonly url: string, readonly status: number, message: string) {
    super('AUTH', `${url}: ${message}`);
  }
}

/**
 * The engine is gone: disposed, or its worker stopped (terminated, crashed). Every request,
 * stream and call pending then settles with it, and so does every call after. `reason`
 * 'reloaded': `engine.reload()` replaced the model the request ran on; 'unloaded':
 * `engine.unload()` freed it, and calls reject until `engine.reload(model)` loads one.
 */
export class EngineClosedError extends FolioError {
  static override readonly errorName = 'EngineClosedError';
  constructor(readonly reason: 'disposed' | 'worker-stopped' | 'reloaded' | 'unloaded', message: string) {
    super('ENGINE_CLOSED', message);
  }
}

/** The page's Content Security Policy blocked something Folio needs; `directive` names what to change. */
export class ContentSecurityPolicyError extends FolioError {
  static override readonly errorName = 'ContentSecurityPolicyError';
  constructor(readonly directive: string, message: string) {
    super('CSP_BLOCKED', message);
  }
}

/** Bytes as MiB for messages a user reads: two significant digits below 10 MiB, whole above. */
export function mib(bytes: number): string {
  const m = bytes / 2 ** 20;
  return m < 10 ? String(Number(m.toPrecision(2))) : Math.round(m).toString();
}

/**
 * A step of the model could not be computed for a request, which ends with this error while
 * the engine serves the others and later ones. `reason` 'non-finite': the forward produced NaN
 * or Inf logits for it (weights or activations beyond f32's range); 'internal': an invariant
 * of Folio broke or an unexpected exception escaped the step (a bug; the message says what).
 */
export class ComputeError extends FolioError {
  static override readonly errorName = 'ComputeError';
  constructor(readonly reason: 'non-finite' | 'internal', message: string) {
    super('COMPUTE', message);
  }
}

/**
 * A JSON schema or GBNF grammar that Folio cannot compile into a constrained decoder: names the
 * parameter, the construct (`pattern lookahead`, `oneOf`, `left recursion in rule expr`) and, for
 * schemas, where it sits (`$.properties.age`).
 */
export class GrammarError extends InvalidParamsError {
  static override readonly errorName = 'GrammarError';
  constructor(param: string, readonly construct: string, message: string) {
    super(param, message);
  }
}

/**
 * A constrained choice reached a point where its grammar allows no token of the vocabulary (the
 * grammar asks for characters no token spells): that request ends with this error.
 */
export class GrammarDeadEndError extends FolioError {
  static override readonly errorName = 'GrammarDeadEndError';
  constructor(readonly generated: string, message: string) {
    super('GRAMMAR_DEAD_END', message);
  }
}
