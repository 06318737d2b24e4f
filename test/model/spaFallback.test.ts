import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/errors.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { loadModel } from '../../src/model/loadModel.ts';
import { UrlSource } from '../../src/model/ModelSource.ts';
import { CachedSource } from '../../src/storage/CachedSource.ts';
import { MemoryStore } from '../../src/storage/KeyValueStore.ts';
import { randomTensors, tempDir, tinyConfig, writeModel } from './synthetic.ts';

const INDEX_HTML = '<!DOCTYPE html>\n<html lang="en"><head><title>My app</title></head><body><div id="root"></div></body></html>\n';
const tmp = tempDir('folio-spa-');
let server: Server;
let base: string;

/** A static host with a single-page-app fallback: any missing path is index.html, status 200. */
function spaHost(): Server {
  return createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let body: Uint8Array;
    let type = 'application/octet-stream';
    try {
      body = await readFile(join(tmp.dir, ...path.split('/').filter(Boolean)));
    } catch {
      body = new TextEncoder().encode(INDEX_HTML);
      type = 'text/html; charset=utf-8';
    }
    res.writeHead(200, { 'content-type': type, 'content-length': body.byteLength });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
}

beforeAll(async () => {
  const config = tinyConfig({ tie_word_embeddings: true });
  // One file, no shard index and no tokenizer: every optional file is answered with the page.
  writeModel(join(tmp.dir, 'good'), config, randomTensors(config, 3), { dtype: 'F16' });
  writeModel(join(tmp.dir, 'noconfig'), config, randomTensors(config, 3));
  writeModel(join(tmp.dir, 'noweights'), config, new Map());
  server = spaHost();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { rm } = await import('node:fs/promises');
  await rm(join(tmp.dir, 'noconfig', 'config.json'));
  await rm(join(tmp.dir, 'noweights', 'model.safetensors'));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  tmp.cleanup();
});

describe('a model server with a single-page-app fallback (200 + index.html for missing files)', () => {
  it('serves a good model: the pages in place of the optional files read as absent', async () => {
    const fromUrl = await loadModel(new UrlSource(`${base}/good`));
    const fromFolder = await loadModel(new FolderSource(join(tmp.dir, 'good')));
    expect(fromUrl.weights.tensors).toEqual(fromFolder.weights.tensors);
    expect(fromUrl.weights.fingerprint).toBe(fromFolder.weights.fingerprint);
    expect(fromUrl.tokenizerJson).toBeNull();
  });

  it('serves a good model through the IndexedDB cache, twice', async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 2; i++) {
      const cached = new CachedSource(new UrlSource(`${base}/good`), { store });
      const { weights } = await loadModel(cached);
      expect(weights.config.tieWordEmbeddings).toBe(true);
      await cached.commit(weights.fingerprint);
    }
  });

  it('a missing config.json or weights file is a ModelFormatError that says the server sent a page', async () => {
    for (const [name, file] of [
      ['noconfig', 'config.json'],
      ['noweights', 'model.safetensors'],
    ]) {
      const err = await loadModel(new UrlSource(`${base}/${name}`)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelFormatError);
      expect((err as ModelFormatError).file).toBe(file);
      expect((err as Error).message).toContain('answered with an HTML page, not this file');
    }
  });
});
