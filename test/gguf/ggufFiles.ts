import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildGgufHeader, gguf, type GGUFTypedMetadata } from '@huggingface/gguf';
import type { BrowserContext } from 'playwright-core';
import { loadAnyModel } from '../../src/gguf/loadAnyModel.ts';
import { memoryFetch } from '../../src/gguf/memoryFetch.ts';
import type { LoadedModel } from '../../src/model/loadModel.ts';
import { openSource } from '../../src/model/ModelSource.ts';
import { SHARED } from '../paths.ts';

/** The GGUF fixtures gguf-py wrote (../shared/models/gguf). */
export const GGUF_DIR = resolve(SHARED, 'models', 'gguf');

/** One reference run of gguf-reference.json: Hugging Face transformers' exact greedy ids for a prompt. */
export interface ReferenceRun {
  prompt: string;
  prompt_ids: number[];
  exact_greedy_ids: number[];
}

/** ../shared/fixtures/gguf-reference.json: each fixture file's architecture and reference runs. */
export const GGUF_REFERENCE: { files: Record<string, { arch: string; runs: ReferenceRun[] }> } = JSON.parse(
  readFileSync(resolve(SHARED, 'fixtures', 'gguf-reference.json'), 'utf8'),
);

/** Answers a browser's requests for `/gguf-fixtures/<file>.gguf` with that fixture's bytes. */
export async function routeGgufFixtures(context: BrowserContext): Promise<void> {
  await context.route('**/gguf-fixtures/*.gguf', (route) => {
    const name = decodeURIComponent(new URL(route.request().url()).pathname.split('/').pop()!);
    return route.fulfill({ status: 200, body: readFileSync(join(GGUF_DIR, name)) });
  });
}
export const fixtureBytes = (name: string): Uint8Array => new Uint8Array(readFileSync(join(GGUF_DIR, name)));

/** A GGUF file as the CLI and loadEngine open one: a path ending in .gguf. */
export async function loadPath(path: string): Promise<LoadedModel> {
  return loadAnyModel(await openSource(path));
}

/** A temporary folder for edited copies of fixtures. */
export function tempFolder(): { dir: string; write(name: string, bytes: Uint8Array): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'folio-gguf-'));
  return {
    dir,
    write: (name, bytes) => {
      writeFileSync(join(dir, name), bytes);
      return join(dir, name);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function parse(bytes: Uint8Array) {
  return gguf('https://folio.invalid/test.gguf', { fetch: memoryFetch(bytes), typedMetadata: true });
}

/** Byte positions of one tensor's fields in the header: each ne[i], the type, the offset. */
export async function tensorFields(bytes: Uint8Array, tensor: string): Promise<{ dims: number[]; type: number; offset: number }> {
  const { tensorInfoByteRange } = await parse(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = tensorInfoByteRange[0];
  while (at < tensorInfoByteRange[1]) {
    const nameLength = Number(view.getBigUint64(at, true));
    const name = new TextDecoder().decode(bytes.subarray(at + 8, at + 8 + nameLength));
    at += 8 + nameLength;
    const nDims = view.getUint32(at, true);
    const dims = Array.from({ length: nDims }, (_, i) => at + 4 + 8 * i);
    const type = at + 4 + 8 * nDims;
    if (name === tensor) return { dims, type, offset: type + 4 };
    at = type + 12;
  }
  throw new Error(`no tensor ${tensor}`);
}

/** Where the data section starts, and the tensor whose data comes last in it. */
export async function dataLayout(bytes: Uint8Array): Promise<{ dataOffset: number; lastTensor: string }> {
  const { tensorDataOffset, tensorInfos } = await parse(bytes);
  const last = tensorInfos.reduce((a, b) => (b.offset > a.offset ? b : a));
  return { dataOffset: Number(tensorDataOffset), lastTensor: last.name };
}

/** The file with its metadata edited (keys set, changed or deleted); tensor infos and data unchanged. */
export async function withMetadata(bytes: Uint8Array, edit: (m: GGUFTypedMetadata) => void): Promise<Uint8Array> {
  const parsed = await parse(bytes);
  edit(parsed.typedMetadata);
  const alignment = Number(parsed.typedMetadata['general.alignment']?.value ?? 32);
  const header = await buildGgufHeader(new Blob([bytes as Uint8Array<ArrayBuffer>]), parsed.typedMetadata, {
    littleEndian: true,
    tensorInfoByteRange: parsed.tensorInfoByteRange,
    alignment,
  });
  return concat(new Uint8Array(await header.arrayBuffer()), bytes.subarray(Number(parsed.tensorDataOffset)));
}

/** The file with one more F32 tensor (ne = [values.length]) at the end of its data. */
export async function withExtraTensor(bytes: Uint8Array, name: string, values: Float32Array): Promise<Uint8Array> {
  const parsed = await parse(bytes);
  const [infoStart, infoEnd] = parsed.tensorInfoByteRange;
  const dataStart = Number(parsed.tensorDataOffset);
  const dataLength = bytes.length - dataStart;
  const offset = Math.ceil(dataLength / 32) * 32;
  const nameBytes = new TextEncoder().encode(name);
  const info = new Uint8Array(8 + nameBytes.length + 4 + 8 + 4 + 8);
  const view = new DataView(info.buffer);
  view.setBigUint64(0, BigInt(nameBytes.length), true);
  info.set(nameBytes, 8);
  const at = 8 + nameBytes.length;
  view.setUint32(at, 1, true); // one dimension
  view.setBigUint64(at + 4, BigInt(values.length), true);
  view.setUint32(at + 12, 0, true); // F32
  view.setBigUint64(at + 16, BigInt(offset), true);
  const infos = concat(bytes.subarray(0, infoEnd), info);
  parsed.typedMetadata.tensor_count.value = BigInt(parsed.tensorInfos.length + 1);
  const header = await buildGgufHeader(new Blob([infos as Uint8Array<ArrayBuffer>]), parsed.typedMetadata, {
    littleEndian: true,
    tensorInfoByteRange: [infoStart, infos.length],
    alignment: 32,
  });
  const data = new Uint8Array(offset + values.byteLength);
  data.set(bytes.subarray(dataStart));
  data.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
  return concat(new Uint8Array(await header.arrayBuffer()), data);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Overwrites the first occurrence of `from` (ASCII) with `to`, of the same length. */
export function replaceText(bytes: Uint8Array, from: string, to: string): Uint8Array {
  if (from.length !== to.length) throw new Error('replaceText keeps lengths');
  const needle = new TextEncoder().encode(from);
  const out = bytes.slice();
  for (let i = 0; i + needle.length <= out.length; i++) {
    if (needle.every((b, j) => out[i + j] === b)) {
      out.set(new TextEncoder().encode(to), i);
      return out;
    }
  }
  throw new Error(`${from} not found`);
}
