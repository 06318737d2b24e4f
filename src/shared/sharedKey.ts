/** Options that do not change the engine: how this tab hears of it, or where it runs. */
const NOT_ENGINE = new Set(['onProgress', 'worker', 'shared', 'remote']);

/** JSON with object keys sorted, so that equal options give equal text. */
function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== 'function').sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The engine a set of createEngine options asks for, as one string: the model's absolute URL
 * and every option that changes what loads (new options count without a change here).
 */
export function sharedKey(opts: object, modelUrl: string): string {
  const kept = Object.fromEntries(Object.entries(opts).filter(([k, v]) => !NOT_ENGINE.has(k) && typeof v !== 'function' && k !== 'model'));
  return stable({ ...kept, model: modelUrl });
}

/** FNV-1a, 32 bits, as 8 hex digits: short enough for a worker's name. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** The SharedWorker's name: the browser shares a worker between tabs by script URL and name. */
export function sharedWorkerName(key: string): string {
  return `folio-shared-${fnv1a(key)}`;
}
