import { access, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelFormatError } from '../errors.ts';
import { checkFileName, type FileStream, type ModelSource, parseJsonFile } from './ModelSource.ts';

/** Bytes per chunk of a streamed file: small next to a model, large enough that reads are few. */
const STREAM_CHUNK = 4 * 2 ** 20;

/** A model folder on the local disk (Node only: the CLI, tests, benchmarks). */
export class FolderSource implements ModelSource {
  readonly folder: string;

  constructor(folder: string) {
    this.folder = resolve(folder);
  }

  describe(): string {
    return `folder ${this.folder}`;
  }

  private path(name: string): string {
    checkFileName(name);
    return join(this.folder, name);
  }

  async fetchFile(name: string): Promise<Uint8Array> {
    const path = this.path(name);
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? `not found in ${this.describe()}` : `cannot be read (${(e as Error).message})`;
      throw new ModelFormatError(name, why);
    }
    // A plain Uint8Array (Buffer's slice() shares memory where Uint8Array's copies), copied
    // out of Node's shared pool if it landed there: f32 tensors become views of these bytes.
    const own = buf.byteLength === buf.buffer.byteLength ? buf : Uint8Array.prototype.slice.call(buf);
    return new Uint8Array(own.buffer, own.byteOffset, own.byteLength);
  }

  /** The file in fresh chunks of `chunkBytes`, read as they are asked for (never the whole file at once). */
  async streamFile(name: string, chunkBytes = STREAM_CHUNK): Promise<FileStream> {
    const path = this.path(name);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ModelFormatError(name, code === 'ENOENT' ? `not found in ${this.describe()}` : `cannot be read (${(e as Error).message})`);
    }
    const { size } = await handle.stat();
    async function* chunks(): AsyncGenerator<Uint8Array> {
      try {
        for (let at = 0; at < size; ) {
          const chunk = new Uint8Array(Math.min(chunkBytes, size - at));
          const { bytesRead } = await handle.read(chunk, 0, chunk.length, at);
          if (bytesRead === 0) return;
          at += bytesRead;
          yield bytesRead === chunk.length ? chunk : chunk.slice(0, bytesRead);
        }
      } finally {
        await handle.close();
      }
    }
    return { size, chunks: chunks() };
  }

  async fetchJson(name: string): Promise<unknown> {
    return parseJsonFile(name, await this.fetchFile(name));
  }

  async has(name: string): Promise<boolean> {
    const path = this.path(name);
    try {
      await access(path);
      return true;
    } catch {
      return false;
    }
  }
}
