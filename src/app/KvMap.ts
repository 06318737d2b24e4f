import type { BlockCell } from '../api/index.ts';
import type { SharedBlockCell } from '../shared/sharingTypes.ts';
import { h } from './dom.ts';
import type { OwnerTracker } from './OwnerTracker.ts';
import { paneColor } from './palette.ts';

/**
 * The KV memory map: one cell per block of the paged KV cache, coloured by state. Held blocks
 * take the colour of the pane whose request holds them; shared blocks (a prefix two requests
 * have in common) show every owner's colour; cached blocks are free but keep their content for
 * a later prefix hit; a dot marks blocks persisted to IndexedDB.
 */
export class KvMap {
  readonly el: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly legend: HTMLElement;
  private cells: HTMLElement[] = [];
  /** This tab's name in a shared engine ("tab 1"): blocks of other tabs' requests are stone-grey. Null: the engine is this tab's alone. */
  private tab: string | null = null;

  constructor(private readonly owners: OwnerTracker, panes: number) {
    this.grid = h('div', { class: 'kv-grid', role: 'img', 'aria-label': 'KV cache blocks' });
    this.summary = h('p', { class: 'kv-summary', 'aria-live': 'off' }, 'Load a model to see its KV cache.');
    this.legend = h('ul', { class: 'legend' },
      ...Array.from({ length: panes }, (_, i) => legendItem(`held by pane ${i + 1}`, `background:${paneColor(i)}`)),
      legendItem('held by another tab', `background:${OTHER_TAB}`),
      legendItem('shared', 'background:linear-gradient(135deg,#2dd4bf 50%,#f59e0b 50%);box-shadow:inset 0 0 0 2px #fff'),
      legendItem('cached (free, reusable)', '', 'cached'),
      legendItem('attention sink (kept by a request over its KV budget)', 'background:#64748b', 'sink'),
      legendItem('evicted (KV budget or context shift)', '', 'evicted'),
      legendItem('free', '', 'free'),
      legendItem('persisted', '', 'free persisted'));
    this.el = h('section', { class: 'card kv', 'aria-label': 'KV memory map' },
      h('header', {}, h('h2', {}, 'KV memory map'), this.summary), this.grid, this.legend);
  }

  /**
   * `storedBlocks`: prefix-KV blocks IndexedDB holds for this model (null: unknown). At 0 no
   * block can be persisted, whatever marks the engine kept from before the cache was cleared.
   */
  update(cells: SharedBlockCell[], storedBlocks: number | null = null): void {
    // Only this tab's requests belong to its panes: the tracker must not see the other tabs'.
    const tabOf = (cell: SharedBlockCell, k: number) => cell.tabs?.[k] || null;
    const mine = (cell: SharedBlockCell, k: number) => this.tab === null || tabOf(cell, k) === null || tabOf(cell, k) === this.tab;
    this.owners.observe(cells.flatMap((c) => c.owners.filter((_, k) => mine(c, k))));
    let otherTabs = 0;
    if (storedBlocks === 0) cells = cells.map((c) => (c.persisted ? { ...c, persisted: false } : c));
    if (this.cells.length !== cells.length) {
      this.cells = cells.map(() => h('div', { class: 'cell' }));
      this.grid.replaceChildren(...this.cells);
    }
    const count = { free: 0, cached: 0, held: 0, shared: 0, persisted: 0, sink: 0, evicted: 0 };
    cells.forEach((cell, i) => {
      const el = this.cells[i];
      count[cell.state]++;
      if (cell.persisted) count.persisted++;
      if (cell.sink) count.sink++;
      if (cell.evicted) count.evicted++;
      const panes = cell.owners.map((o, k) => (mine(cell, k) ? this.owners.paneOf(o) : undefined));
      const colors = panes.map((p, k) => (!mine(cell, k) ? OTHER_TAB : p === undefined ? '#e2e8f0' : paneColor(p)));
      if (cell.owners.some((_, k) => !mine(cell, k))) otherTabs++;
      let bg = '';
      if (cell.state === 'held') bg = colors[0] ?? '#e2e8f0';
      else if (cell.state === 'shared') bg = stripes(colors);
      el.className = `cell ${cell.state}${cell.persisted ? ' persisted' : ''}${cell.sink ? ' sink' : ''}${cell.evicted ? ' evicted' : ''}`;
      el.style.background = bg;
      el.dataset.state = cell.state;
      const who = panes.map((p, k) => (!mine(cell, k) ? `${tabOf(cell, k)} (${cell.owners[k]})` : p === undefined ? cell.owners[k] : `pane ${p + 1}`)).join(', ');
      el.title = `block ${i}: ${cell.state}${who ? ` by ${who}` : ''}${cell.persisted ? ', persisted' : ''}${cell.sink ? ', attention sink' : ''}${cell.evicted ? ', evicted' : ''}`;
    });
    this.grid.dataset.held = String(count.held);
    this.grid.dataset.shared = String(count.shared);
    this.grid.dataset.cached = String(count.cached);
    this.grid.dataset.persisted = String(count.persisted);
    this.grid.dataset.otherTabs = String(otherTabs);
    this.grid.dataset.sink = String(count.sink);
    this.grid.dataset.evicted = String(count.evicted);
    this.grid.setAttribute('aria-label', `KV cache: ${cells.length} blocks, ${count.held} held, ${count.shared} shared, ${count.cached} cached, ${count.free} free, ${count.persisted} persisted`);
    this.summary.textContent = `${this.tab ? `${this.tab} · ` : ''}${cells.length} blocks · ${count.held} held · ${count.shared} shared · ${count.cached} cached · ${count.free} free${count.persisted ? ` · ${count.persisted} persisted` : ''}${count.sink ? ` · ${count.sink} sink` : ''}${count.evicted ? ` · ${count.evicted} evicted` : ''}`;
  }

  /** This tab's name in a shared engine (`engine.info.sharing.tab`), or null. */
  setTab(tab: string | null): void {
    this.tab = tab;
  }

  clear(): void {
    this.cells = [];
    this.grid.replaceChildren();
    this.summary.textContent = 'Load a model to see its KV cache.';
  }
}

/** Blocks held by another tab's requests (a shared engine). */
const OTHER_TAB = '#a8a29e';

function legendItem(label: string, style: string, cls = ''): HTMLElement {
  return h('li', {}, h('span', { class: `cell ${cls}`, style, 'aria-hidden': 'true' }), label);
}

function stripes(colors: string[]): string {
  const unique = [...new Set(colors)];
  if (unique.length === 1) return `repeating-linear-gradient(135deg, ${unique[0]} 0 3px, #0f172a 3px 5px)`;
  const step = 100 / unique.length;
  return `linear-gradient(135deg, ${unique.map((c, i) => `${c} ${i * step}% ${(i + 1) * step}%`).join(', ')})`;
}
