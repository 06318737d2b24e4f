import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFormatError, NetworkError } from '../../src/errors.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { loadModel } from '../../src/model/loadModel.ts';
import { openSource, UrlSource } from '../../src/model/ModelSource.ts';
import { randomTensors, tempDir, tinyConfig, writeModel } from './synthetic.ts';

const REPO = 'test-org/tiny-llama';
const tmp = tempDir();
const dir = join(tmp.dir, 'tiny-llama');
let server: Server;
let endpoint: string;
const requests: string[] = [];

/** Serves `dir` in the Hugging Face layout /{repo}/resolve/{revision}/{file}, revisions main and v1. */
function hubMirror(): Server {
  return createServer(async (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const prefix = `/${REPO}/resolve/`;
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const [revision, ...file] = path.startsWith(prefix) ? path.slice(prefix.length).split('/') : [];
    try {
      if (revision !== 'main' && revision !== 'v1') throw new Error('unknown revision');
      const body = await readFile(join(dir, ...file));
      res.writeHead(200, { 'content-length': body.byteLength });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404).end('Entry not found');
    }
  });
}

beforeAll(async () => {
  const config = tinyConfig({ tie_word_embeddings: true });
  writeModel(dir, config, randomTensors(config, 7), { dtype: 'F16', shards: 2, tokenizer: true });
  server = hubMirror();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  tmp.cleanup();
});

describe('loading over HTTP in the Hugging Face layout', () => {
  it('loads the same weights, fingerprint and tokenizer as the folder', async () => {
    const local = await loadModel(new FolderSource(dir));
    requests.length = 0;
    const remote = await loadModel(await openSource(`hf:${REPO}`, { hfEndpoint: endpoint }));
    expect(remote.weights.tensors).toEqual(local.weights.tensors);
    expect(remote.weights.config).toEqual(local.weights.config);
    expect(remote.weights.fingerprint).toBe(local.weights.fingerprint);
    expect(remote.tokenizerJson).toEqual(local.tokenizerJson);
    expect(remote.tokenizerConfig).toEqual(local.tokenizerConfig);
    const shardGets = requests.filter((r) => r.startsWith('GET') && r.endsWith('.safetensors'));
    expect(shardGets.sort()).toEqual([1, 2].map((i) => `GET /${REPO}/resolve/main/model-0000${i}-of-00002.safetensors`));
  });

  it('loads from a resolve URL and from a pinned revision', async () => {
    const byUrl = await loadModel(await openSource(`${endpoint}/${REPO}/resolve/main/`));
    const pinned = await loadModel(UrlSource.huggingFace(REPO, { revision: 'v1', endpoint }));
    expect(pinned.weights.fingerprint).toBe(byUrl.weights.fingerprint);
  });

  it('reports a missing revision as a NetworkError with the URL and status', async () => {
    const err = await loadModel(await openSource(`hf:${REPO}@nope`, { hfEndpoint: endpoint })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    const url = `${endpoint}/${REPO}/resolve/nope/config.json`;
    expect((err as NetworkError).url).toBe(url);
    expect((err as NetworkError).message).toBe(`${url}: HTTP 404 Not Found`);
  });

  it('answers has() without downloading, and refuses names that leave the repository', async () => {
    const source = UrlSource.huggingFace(REPO, { endpoint });
    expect(await source.has('tokenizer.json')).toBe(true);
    expect(await source.has('model.safetensors')).toBe(false);
    expect(() => source.url('../other/config.json')).toThrow(ModelFormatError);
  });

  it('turns a refused connection into a NetworkError', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await new UrlSource(`http://127.0.0.1:${port}/m`).fetchFile('config.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as Error).message).toMatch(/config\.json: request failed/);
  });
});

describe('openSource', () => {
  it('reads Hub URLs, hf: ids, other URLs and folders', async () => {
    const hub = (await openSource('https://huggingface.co/HuggingFaceTB/SmolLM2-135M')) as UrlSource;
    expect(hub.baseUrl).toBe('https://huggingface.co/HuggingFaceTB/SmolLM2-135M/resolve/main');
    const tree = (await openSource('https://huggingface.co/org/name/tree/refs/pr/1')) as UrlSource;
    expect(tree.baseUrl).toBe('https://huggingface.co/org/name/resolve/refs%2Fpr%2F1');
    expect(tree.describe()).toBe('https://huggingface.co/org/name (revision refs/pr/1)');
    const id = (await openSource('hf:org/name@v2.0')) as UrlSource;
    expect(id.url('onnx/model file.json')).toBe('https://huggingface.co/org/name/resolve/v2.0/onnx/model%20file.json');
    const plain = (await openSource('https://example.com/models/tiny/')) as UrlSource;
    expect(plain.url('config.json')).toBe('https://example.com/models/tiny/config.json');
    const folder = await openSource(dir);
    expect(folder).toBeInstanceOf(FolderSource);
    expect(folder.describe()).toBe(`folder ${dir}`);
  });
});
