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
  | 'DEVICE_LOST'
  | 'STORAGE'
  | 'NETWORK';

export class FolioError extends Error {
  readonly code: FolioErrorCode;
  constructor(code: FolioErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A weights file that cannot be read: names the file and, where known, the tensor. */
export class ModelFormatError extends FolioError {
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
  readonly file: string;
  readonly field: string | undefined;
  constructor(file: string, message: string, field?: string) {
    super('CONFIG', `${file}${field ? ` (field ${field})` : ''}: ${message}`);
    this.file = file;
    this.field = field;
  }
}

export class TokenizerError extends FolioError {
  constructor(message: string) {
    super('TOKENIZER', message);
  }
}

/** A request parameter out of range or of the wrong type; raised before anything is allocated. */
export class InvalidParamsError extends FolioError {
  readonly param: string;
  constructor(param: string, message: string) {
    super('INVALID_PARAMS', `${param}: ${message}`);
    this.param = param;
  }
}

export class ContextLengthError extends FolioError {
  constructor(readonly promptTokens: number, readonly maxTokens: number, readonly contextLength: number) {
    super(
      'CONTEXT_LENGTH',
      `the prompt has ${promptTokens} tokens and ${maxTokens} more were asked for, but the model's context holds ${contextLength}`,
    );
  }
}

export class KvCacheFullError extends FolioError {
  constructor(message: string) {
    super('KV_CACHE_FULL', message);
  }
}

export class AbortError extends FolioError {
  constructor(message = 'the request was aborted') {
    super('ABORTED', message);
  }
}

export class WebGpuUnavailableError extends FolioError {
  constructor(message: string) {
    super('WEBGPU_UNAVAILABLE', message);
  }
}

export class DeviceLostError extends FolioError {
  constructor(message: string) {
    super('DEVICE_LOST', message);
  }
}

export class StorageError extends FolioError {
  constructor(message: string) {
    super('STORAGE', message);
  }
}

export class NetworkError extends FolioError {
  constructor(readonly url: string, message: string) {
    super('NETWORK', `${url}: ${message}`);
  }
}

/** Bytes as MiB for messages a user reads: two significant digits below 10 MiB, whole above. */
export function mib(bytes: number): string {
  const m = bytes / 2 ** 20;
  return m < 10 ? String(Number(m.toPrecision(2))) : Math.round(m).toString();
}
