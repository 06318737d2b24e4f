import type { SamplingRequest } from '../api/index.ts';
import { field, h, nextId } from './dom.ts';
import { checkField, type SamplingField } from './samplingRules.ts';

export type Sampling = Pick<SamplingRequest, 'temperature' | 'top_p' | 'top_k' | 'max_tokens' | 'seed' | 'speculative'>;

const LABELS: Record<SamplingField, string> = { temperature: 'Temperature', top_p: 'Top-p', top_k: 'Top-k', max_tokens: 'Max tokens', seed: 'Seed' };

/**
 * Sampling settings shared by every pane, read at each send. Each field is checked as it is
 * typed, with the engine's own ranges; every wrong field says why beside itself, and `valid`
 * (with `onChange`) lets the panes keep Send disabled until all are right.
 */
export class SettingsForm {
  readonly el: HTMLElement;
  private readonly inputs = {} as Record<SamplingField, HTMLInputElement>;
  private readonly errors = {} as Record<SamplingField, HTMLElement>;
  private invalid = new Set<SamplingField>();
  /** Speculative decoding: 'off', or 'ngram' (prompt lookup; the output stays the model's). */
  private readonly speculative: HTMLSelectElement;

  constructor(private readonly onChange: () => void = () => {}) {
    const form = h('form', { class: 'settings', 'aria-label': 'Sampling settings', novalidate: true });
    const add = (name: SamplingField, value: string, attrs: Record<string, string | number>, hint?: string) => {
      const id = nextId('f');
      const input = h('input', { id, type: 'number', name, value, inputmode: 'decimal', ...attrs });
      const error = h('small', { id: `${id}-error`, class: 'field-error', hidden: true });
      const wrap = h('div', { class: 'field' }, h('label', { for: id }, LABELS[name]), input);
      const described = [error.id];
      if (hint) {
        wrap.append(h('small', { id: `${id}-hint` }, hint));
        described.unshift(`${id}-hint`);
      }
      wrap.append(error);
      input.setAttribute('aria-describedby', described.join(' '));
      input.addEventListener('input', () => this.check(name));
      this.inputs[name] = input;
      this.errors[name] = error;
      form.append(wrap);
    };
    add('temperature', '0.8', { min: 0, step: 0.05 }, '0 = greedy');
    add('top_p', '0.95', { min: 0, max: 1, step: 0.05 });
    add('top_k', '40', { min: 0, step: 1 }, '0 = off');
    add('max_tokens', '120', { min: 1, step: 1 });
    add('seed', '', { step: 1, placeholder: 'random' }, 'blank = random');
    this.speculative = h('select', { name: 'speculative' }, h('option', { value: 'off' }, 'Off'), h('option', { value: 'ngram' }, 'N-gram (prompt lookup)'));
    form.append(field('Speculative decoding', this.speculative, 'same text, fewer forwards'));
    form.addEventListener('submit', (e) => e.preventDefault());
    this.el = h('section', { class: 'card', 'aria-label': 'Sampling' }, h('h2', {}, 'Sampling'), form);
  }

  /** Whether every field holds a value the engine accepts. */
  get valid(): boolean {
    return this.invalid.size === 0;
  }

  /** The wrong fields' messages, "Top-p must be …", in form order. */
  get problems(): string[] {
    return [...this.invalid].map((k) => `${LABELS[k]} ${checkField(k, this.inputs[k].value, this.inputs[k].validity.badInput)}`);
  }

  private check(name: SamplingField): void {
    const input = this.inputs[name];
    const problem = checkField(name, input.value, input.validity.badInput);
    const error = this.errors[name];
    error.textContent = problem ? `${LABELS[name]} ${problem}.` : '';
    error.hidden = !problem;
    if (problem) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    const was = this.invalid.has(name);
    if (problem) this.invalid.add(name);
    else this.invalid.delete(name);
    if (was !== !!problem) this.onChange();
  }

  /** The current settings; blank fields are left to the engine's defaults. */
  values(): Sampling {
    const out: Sampling = {};
    for (const k of Object.keys(this.inputs) as SamplingField[]) {
      const v = this.inputs[k].value.trim();
      if (v !== '' && !checkField(k, v)) out[k] = Number(v);
    }
    if (out.top_k === 0) delete out.top_k;
    if (this.speculative.value === 'ngram') out.speculative = { method: 'ngram' };
    return out;
  }
}
