// Errors through the built folio.js (minified: its classes are renamed to "C", "T", ...):
// each arrives as `Folio.<Class>`, named '<Class>', with its code, from the worker or the page.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../src/browser/devServer.ts';
import { servePython } from './pythonServer.ts';
import { openPage, type PageSession } from './session.ts';

type FolioGlobal = Record<string, unknown> & { createEngine(o: object): Promise<never> };
declare const Folio: FolioGlobal;

const MODEL = resolve(ROOT, 'examples/script-tag/models/stories260K');
const config = JSON.parse(readFileSync(resolve(MODEL, 'config.json'), 'utf8')) as Record<string, unknown>;

/** Broken model folders, served by route: each differs from stories260K in one file. */
const BROKEN: Record<string, Record<string, string | Buffer>> = {
  'bad-config': { 'config.json': JSON.stringify({ ...config, hidden_size: undefined }) },
  'bad-weights': { 'model.safetensors': Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x7b]) },
  'bad-tokenizer': { 'tokenizer.json': JSON.stringify({ version: '1.0', model: { type: 'Nonsense' } }) },
};

function serveBroken(route: Route): Promise<void> {
  const [, folder, file] = new URL(route.request().url()).pathname.match(/\/(bad-[a-z]+)\/(.+)$/) ?? [];
  const body = BROKEN[folder]?.[file] ?? (() => {
    try {
      return readFileSync(resolve(MODEL, file));
    } catch {
      return null;
    }
  })();
  return body === null ? route.fulfill({ status: 404, body: 'not found' }) : route.fulfill({ status: 200, body });
}

/** What each class-check reports, computed in the page. */
interface Seen {
  name: string;
  code: string;
  instance: boolean;
}

describe('folio.js: every error arrives as its class, with its name and code', () => {
  let s: PageSession;
  let url: string;
  beforeAll(async () => {
    const served = await servePython(resolve(ROOT, 'examples/script-tag'));
    url = served.url;
    // folio.test: the same server on a name that is not a secure context (no WebGPU there).
    s = await openPage(url, async () => served.proc.kill(), { args: ['--host-resolver-rules=MAP folio.test 127.0.0.1'] });
    await s.chromium.context.route('**/bad-*/**', serveBroken);
  });
  afterAll(async () => s?.close());

  it('every exported class names itself by its export name, unminified', async () => {
    const r = await s.page.evaluate(() => {
      const out: Record<string, Seen> = {};
      for (const [k, v] of Object.entries(Folio)) {
        if (typeof v !== 'function' || !(v === Folio.FolioError || (v as { prototype: object }).prototype instanceof (Folio.FolioError as typeof Error))) continue;
        // Constructors differ; the name does not depend on their arguments.
        const e = Reflect.construct(v as typeof Error, ['INVALID_PARAMS', 'm', 'x']) as Error & { code: string };
        out[k] = { name: e.name, code: typeof e.code, instance: e instanceof (Folio[k] as typeof Error) && (v as { errorName?: string }).errorName === k };
      }
      return out;
    });
    expect(Object.keys(r).length).toBeGreaterThanOrEqual(15);
    for (const [k, seen] of Object.entries(r)) expect(seen, k).toEqual({ name: k, code: 'string', instance: true });
  });

  it('errors from the worker (load, admission, a full cache) and from the page keep class, name and code', async () => {
    const r = await s.page.evaluate(async () => {
      const seen = (e: unknown): Seen => {
        const err = e as Error & { code: string };
        const cls = Folio[err.name] as typeof Error | undefined;
        return { name: err.name, code: err.code, instance: !!cls && e instanceof cls && e instanceof (Folio.FolioError as typeof Error) };
      };
      const catching = async (f: () => Promise<unknown>): Promise<Seen | null> => f().then(() => null, seen);
      type Engine = { completions: { create(p: object, o?: object): Promise<AsyncIterable<unknown>> }; stats(): Promise<unknown>; dispose(): void };
      const load = (model: string, more: object = {}) => Folio.createEngine({ model, backend: 'cpu', cache: false, ...more }) as Promise<Engine>;
      const out: Record<string, Seen | null> = {};
      out.NetworkError = await catching(() => load('./models/missing'));
      out.ConfigError = await catching(() => load('./bad-config'));
      out.ModelFormatError = await catching(() => load('./bad-weights'));
      out.TokenizerError = await catching(() => load('./bad-tokenizer'));
      const engine = await load('./models/stories260K', { kv: { maxBlocks: 3 } });
      out.InvalidParamsError = await catching(() => engine.completions.create({ prompt: 'x', temperature: -1 }));
      out.ContextLengthError = await catching(() => engine.completions.create({ prompt: 'x', max_tokens: 100000 }));
      out.KvCacheFullError = await catching(() => engine.completions.create({ prompt: 'Once upon a time '.repeat(20), max_tokens: 8 }));
      out.AbortError = await catching(() => engine.completions.create({ prompt: 'x' }, { signal: AbortSignal.abort() }));
      const stream = await engine.completions.create({ prompt: 'Once', max_tokens: 30, stream: true });
      engine.dispose();
      out.EngineClosedError = await catching(async () => {
        for await (const _ of stream);
      });
      return out;
    });
    for (const [name, seen] of Object.entries(r)) expect(seen, name).toMatchObject({ name, instance: true });
    expect(r.NetworkError!.code).toBe('NETWORK');
    expect(r.KvCacheFullError!.code).toBe('KV_CACHE_FULL');
    expect(r.EngineClosedError!.code).toBe('ENGINE_CLOSED');
  });

  it('WebGpuUnavailableError, where the page has no WebGPU (not a secure context)', async () => {
    const page = await s.chromium.context.newPage();
    await page.goto(url.replace('127.0.0.1', 'folio.test'));
    const r = await page.evaluate(async () =>
      Folio.createEngine({ model: './models/stories260K', backend: 'webgpu', cache: false }).then(
        () => null,
        (e: Error & { code: string }) => ({ name: e.name, code: e.code, instance: e instanceof (Folio.WebGpuUnavailableError as typeof Error) }),
      ),
    );
    expect(r).toEqual({ name: 'WebGpuUnavailableError', code: 'WEBGPU_UNAVAILABLE', instance: true });
    await page.close();
  });
});
