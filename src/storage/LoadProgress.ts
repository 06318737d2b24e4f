import type { ModelManifest } from './ModelManifest.ts';

/** Byte-level progress of one file, for a progress bar. */
export interface DownloadProgress {
  file: string;
  /** Bytes of this file received (or read from the cache) so far, and its size (0 when unknown). */
  bytesLoaded: number;
  bytesTotal: number;
  /** Bytes over all files so far, network and cache together. */
  totalBytesLoaded: number;
  /** Files finished, and files known so far (all of them once a manifest exists). */
  filesDone: number;
  filesTotal: number;
  fromCache: boolean;
  /** Set once, when caching stopped (a full quota): the load goes on without it. */
  warning?: string;
}

/** Counts one load's files and bytes, and turns each step into a DownloadProgress event. */
export class LoadProgress {
  private readonly files = new Set<string>();
  private done = 0;
  private bytes = 0;

  constructor(
    private readonly onProgress: ((p: DownloadProgress) => void) | undefined,
    /** The manifest so far: once complete, it knows how many files the model has. */
    private readonly manifest: () => ModelManifest | null,
  ) {}

  fileStarted(file: string): void {
    this.files.add(file);
  }

  /** `n` more bytes of a file arrived from the network: `loaded` of `total` (0 when unknown) so far. */
  received(file: string, n: number, loaded: number, total: number): void {
    this.bytes += n;
    this.emit(file, loaded, total, false);
  }

  /** A whole file is in hand. Bytes from the cache count now; network bytes counted as they arrived. */
  finished(file: string, size: number, fromCache: boolean): void {
    if (fromCache) this.bytes += size;
    this.done++;
    this.emit(file, size, size, fromCache);
  }

  /** A warning, about the load as a whole or about one file. */
  warn(warning: string, about: { file: string; bytesTotal: number; fromCache: boolean } = { file: '', bytesTotal: 0, fromCache: false }): void {
    this.emit(about.file, 0, about.bytesTotal, about.fromCache, warning);
  }

  private emit(file: string, loaded: number, total: number, fromCache: boolean, warning?: string): void {
    const m = this.manifest();
    const known = m?.complete ? Object.keys(m.files).length : this.files.size;
    this.onProgress?.({
      file,
      bytesLoaded: loaded,
      bytesTotal: total,
      totalBytesLoaded: this.bytes,
      filesDone: this.done,
      filesTotal: Math.max(known, this.done),
      fromCache,
      ...(warning ? { warning } : {}),
    });
  }
}
