import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelFormatError } from '../errors.ts';
import { checkFileName, type ModelSource, parseJsonFile } from './ModelSource.ts';

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
