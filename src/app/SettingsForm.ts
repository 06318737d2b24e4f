import type { SamplingRequest } from '../api/index.ts';
import { field, h } from './dom.ts';

export type Sampling = Pick<SamplingRequest, 'temperature' | 'top_p' | 'top_k' | 'max_tokens' | 'seed'>;

/** Sampling settings shared by every pane: read at each send. */
export class SettingsForm {
  readonly el: HTMLElement;
  private readonly inputs: Record<'temperature' | 'top_p' | 'top_k' | 'max_tokens' | 'seed', HTMLInputElement>;

  constructor() {
    const num = (name: string, value: string, min: number, max: number, step: number, placeholder = '') =>
      h('input', { type: 'number', name, value, min, max, step, placeholder, inputmode: 'decimal' });
    this.inputs = {
      temperature: num('temperature', '0.8', 0, 2, 0.05),
      top_p: num('top_p', '0.95', 0.05, 1, 0.05),
      top_k: num('top_k', '40', 0, 512, 1),
      max_tokens: num('max_tokens', '120', 1, 512, 1),
      seed: num('seed', '', 0, 2 ** 31, 1, 'random'),
    };
    const form = h('form', { class: 'settings', 'aria-label': 'Sampling settings' },
      field('Temperature', this.inputs.temperature, '0 = greedy'),
      field('Top-p', this.inputs.top_p),
      field('Top-k', this.inputs.top_k, '0 = off'),
      field('Max tokens', this.inputs.max_tokens),
      field('Seed', this.inputs.seed, 'blank = random'));
    form.addEventListener('submit', (e) => e.preventDefault());
    this.el = h('section', { class: 'card' }, h('h2', {}, 'Sampling'), form);
  }

  /** The current settings; empty or invalid fields are left to the engine's defaults. */
  values(): Sampling {
    const read = (k: keyof SettingsForm['inputs']) => {
      const v = this.inputs[k].value.trim();
      const n = Number(v);
      return v === '' || !Number.isFinite(n) ? undefined : n;
    };
    const out: Sampling = {
      temperature: read('temperature'),
      top_p: read('top_p'),
      top_k: read('top_k'),
      max_tokens: read('max_tokens'),
      seed: read('seed'),
    };
    if (out.top_k === 0) delete out.top_k;
    for (const k of Object.keys(out) as (keyof Sampling)[]) if (out[k] === undefined) delete out[k];
    return out;
  }
}
