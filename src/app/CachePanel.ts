import type { CachedModel, CacheHandle, LoadedInfo } from '../api/index.ts';
import { h } from './dom.ts';
import { formatBytes, plural } from './format.ts';

/** The engine as this panel sees it: its IndexedDB cache and, for a worker engine, how it loaded. */
interface CachedEngine {
  cache?: Partial<CacheHandle>;
  info?: LoadedInfo;
}

/** Where this load's weights came from, in words: the cache (no request) or the network. */
export function describeOrigin(info: LoadedInfo): { text: string; kind: 'cache' | 'network' | 'none' } {
  const { requests, bytes } = info.network;
  if (requests < 0) return { text: 'Loaded from the network; caching is off.', kind: 'none' };
  if (info.fromCache) return { text: `Loaded from this browser's cache: ${plural(requests, 'network request')}.`, kind: 'cache' };
  return { text: `Downloaded: ${plural(requests, 'network request')}, ${formatBytes(bytes)}; kept in this browser for next time.`, kind: 'network' };
}

/** A model URL as a person reads it: relative to the page where it is on this site. */
function modelLabel(url: string): string {
  const base = new URL('.', location.href).href;
  return url.startsWith(base) ? url.slice(base.length) : url;
}

/**
 * What the engine keeps in IndexedDB: per model, its weight files and size and its prefix-KV
 * blocks, with Remove and Clear; and whether this load came from that cache.
 */
export class CachePanel {
  readonly el: HTMLElement;
  private readonly origin: HTMLElement;
  private readonly warning: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly summary: HTMLElement;
  private readonly clear: HTMLButtonElement;
  private readonly confirm: HTMLElement;
  private cache: CacheHandle | null = null;
  private info: LoadedInfo | null = null;
  /** The loaded model's URL as the cache names it (absolute, no trailing slash). */
  private model: string | null = null;
  /** Prefix-KV blocks IndexedDB holds for the loaded model; null until listed. */
  storedKvBlocks: number | null = null;

  /** `onChange`: the cache was cleared or a model removed (the KV map's persisted marks are stale). */
  constructor(private readonly onChange: () => void = () => {}) {
    this.origin = h('p', { class: 'origin', role: 'status', 'aria-live': 'polite' });
    this.warning = h('p', { class: 'warning', role: 'alert', hidden: true });
    this.list = h('ul', { class: 'cache-list', 'aria-label': 'Cached models' });
    this.summary = h('p', { class: 'muted summary' }, '');
    this.clear = h('button', { type: 'button', class: 'ghost' }, 'Clear cache…');
    // Clearing throws away downloads that may have taken long: ask first, in place.
    const yes = h('button', { type: 'button', class: 'danger' }, 'Delete everything');
    const no = h('button', { type: 'button', class: 'ghost' }, 'Cancel');
    this.confirm = h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm clearing the cache', hidden: true },
      h('p', {}, 'Delete every stored model and KV block from this browser? The next load downloads again.'), yes, no);
    this.clear.addEventListener('click', () => {
      this.confirm.hidden = false;
      this.clear.hidden = true;
      no.focus();
    });
    const close = () => {
      this.confirm.hidden = true;
      this.clear.hidden = false;
      this.clear.focus();
    };
    no.addEventListener('click', close);
    yes.addEventListener('click', async () => {
      close();
      await this.run(() => this.cache!.clear());
    });
    this.el = h('section', { class: 'card cache', 'aria-label': 'Browser cache', hidden: true },
      h('h2', {}, 'Stored in this browser'), this.origin, this.warning, this.list, this.summary, this.clear, this.confirm);
  }

  /** Binds to an engine; hides itself when the engine has no cache API. */
  async attach(engine: object | null, model: string | null = null): Promise<void> {
    const e = engine as CachedEngine | null;
    this.model = model === null ? null : new URL(model, location.href).href.replace(/\/+$/, '');
    this.storedKvBlocks = null;
    const cache = e?.cache;
    this.cache = cache && typeof cache.list === 'function' && typeof cache.clear === 'function' && typeof cache.delete === 'function' ? (cache as CacheHandle) : null;
    this.el.hidden = !this.cache;
    this.showInfo(e?.info ?? null);
    await this.refresh();
  }

  private showInfo(info: LoadedInfo | null, stored = true): void {
    this.info = info;
    if (!info) {
      this.origin.textContent = '';
      delete this.origin.dataset.kind;
      this.warning.hidden = true;
      return;
    }
    // Once the model is removed from the cache, how it came no longer describes what is stored.
    const o = stored ? describeOrigin(info) : { text: 'Not stored in this browser any more: the next load downloads it again.', kind: 'none' as const };
    this.origin.textContent = o.text;
    this.origin.dataset.kind = o.kind;
    this.origin.dataset.requests = String(info.network.requests);
    this.warning.textContent = info.warning ?? '';
    this.warning.hidden = !info.warning;
  }

  async refresh(): Promise<void> {
    if (!this.cache) return;
    try {
      const models = await this.cache.list();
      this.list.replaceChildren(...models.map((m) => this.item(m)));
      const weights = models.reduce((n, m) => n + m.bytes, 0);
      const kvBlocks = models.reduce((n, m) => n + m.kvBlocks, 0);
      const kvBytes = models.reduce((n, m) => n + m.kvBytes, 0);
      this.el.dataset.models = String(models.length);
      this.el.dataset.kvBlocks = String(kvBlocks);
      this.summary.textContent = models.length === 0
        ? 'Nothing stored in this browser.'
        : `${plural(models.length, 'model')}: ${formatBytes(weights)} of weights, ${plural(kvBlocks, 'KV block')}${kvBlocks ? ` (${formatBytes(kvBytes)})` : ''}.`;
      this.clear.disabled = models.length === 0;
      const mine = models.find((m) => m.model === this.model);
      this.storedKvBlocks = mine?.kvBlocks ?? 0;
      if (this.info && this.model) this.showInfo(this.info, mine !== undefined);
    } catch (e) {
      this.summary.textContent = `Cache unavailable: ${(e as Error).message}`;
    }
  }

  private item(m: CachedModel): HTMLLIElement {
    const name = modelLabel(m.model);
    const remove = h('button', { type: 'button', class: 'ghost', 'aria-label': `Remove ${name} from this browser` }, 'Remove');
    remove.addEventListener('click', () => void this.run(() => this.cache!.delete(m.model)));
    const kv = m.kvBlocks ? `${plural(m.kvBlocks, 'KV block')} (${formatBytes(m.kvBytes)})` : 'no KV blocks';
    return h('li', { 'data-model': m.model },
      h('span', { class: 'model' }, name),
      remove,
      h('span', { class: 'detail' }, `${plural(m.files.length, 'file')}, ${formatBytes(m.bytes)} of weights${m.complete ? '' : ' (incomplete)'} · ${kv}`));
  }

  private async run(op: () => Promise<unknown>): Promise<void> {
    if (!this.cache) return;
    try {
      await op();
    } catch (e) {
      this.summary.textContent = `Could not change the cache: ${(e as Error).message}`;
      return;
    }
    await this.refresh();
    this.onChange();
  }
}
