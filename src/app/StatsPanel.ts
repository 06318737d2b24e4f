import type { EngineStats } from '../api/index.ts';
import { h } from './dom.ts';
import { formatBytes } from './format.ts';
import type { PaneRun } from './ChatPane.ts';

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const rate = (x: number) => (x > 0 ? `${x.toFixed(x < 10 ? 1 : 0)} tok/s` : '–');

/** Engine-wide numbers from engine.stats(), plus time to first token measured in the page. */
export class StatsPanel {
  readonly el: HTMLElement;
  private readonly list: HTMLElement;
  private readonly values = new Map<string, HTMLElement>();

  constructor() {
    this.list = h('dl', { class: 'stats' });
    for (const [key, label] of [
      ['ttft', 'Time to first token'],
      ['decode', 'Decode speed'],
      ['prefill', 'Prefill speed'],
      ['hit', 'Prefix hit rate'],
      ['util', 'KV utilization'],
      ['blocks', 'KV blocks used'],
      ['shared', 'Shared blocks'],
      ['stored', 'Prefix blocks in this browser'],
      ['requests', 'Requests'],
      ['weights', 'Weights'],
      ['backend', 'Backend'],
    ] as const) {
      const dd = h('dd', { 'data-stat': key }, '–');
      this.values.set(key, dd);
      this.list.append(h('div', {}, h('dt', {}, label), dd));
    }
    this.el = h('section', { class: 'card', 'aria-label': 'Engine statistics' }, h('h2', {}, 'Live stats'), this.list);
  }

  update(s: EngineStats, runs: (PaneRun | null)[]): void {
    const ttfts = runs.map((r, i) => (r?.ttftMs != null ? `P${i + 1} ${Math.round(r.ttftMs)} ms` : null)).filter(Boolean);
    this.set('ttft', ttfts.length ? ttfts.join(' · ') : '–');
    this.set('decode', rate(s.tokens.decodeTokensPerSecond));
    this.set('prefill', rate(s.tokens.prefillTokensPerSecond));
    this.set('hit', s.prefix.lookups ? `${pct(s.prefix.hitRate)} (${s.prefix.cachedPromptTokens} tokens)` : '–');
    this.values.get('hit')!.dataset.cachedTokens = String(s.prefix.cachedPromptTokens);
    this.set('util', pct(s.kv.utilization));
    this.set('blocks', `${s.kv.blocksUsed} / ${s.kv.blocksTotal} (${s.kv.blocksCachedFree} cached)`);
    this.set('shared', String(s.kv.blocksShared));
    const p = s.persistence;
    this.set('stored', p ? `${p.blocksWritten} written · ${p.blocksRestored} restored${p.corrupt ? ` · ${p.corrupt} corrupt` : ''}${p.warning ? ` · ${p.warning}` : ''}` : 'off');
    const dd = this.values.get('stored');
    if (dd && p) {
      dd.dataset.written = String(p.blocksWritten);
      dd.dataset.restored = String(p.blocksRestored);
    }
    this.set('requests', `${s.requests.running} running · ${s.requests.waiting} waiting · ${s.requests.finished} done${s.requests.preemptions ? ` · ${s.requests.preemptions} preempted` : ''}`);
    this.set('weights', s.weights ? `${s.weights.formats} · ${formatBytes(s.weights.deviceBytes)} on the device` : '–');
    this.set('backend', s.adapter);
  }

  private set(key: string, text: string): void {
    const el = this.values.get(key);
    if (el && el.textContent !== text) el.textContent = text;
  }
}
