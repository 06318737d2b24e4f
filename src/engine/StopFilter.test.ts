import { describe, expect, it } from 'vitest';
import { StopFilter } from './StopFilter.ts';

function run(stops: string[], deltas: string[]) {
  const f = new StopFilter(stops);
  let shown = '';
  for (const d of deltas) {
    const r = f.push(d);
    shown += r.text;
    if (r.stopped) return { shown, stopped: true };
  }
  return { shown: shown + f.flush(), stopped: false };
}

describe('StopFilter', () => {
  it('cuts at a stop string split across deltas, never showing part of it', () => {
    const f = new StopFilter(['\nUser:']);
    expect(f.push('Hello')).toEqual({ text: 'Hello', stopped: false });
    expect(f.push(' there\nUs')).toEqual({ text: ' there', stopped: false });
    expect(f.push('er: hi')).toEqual({ text: '', stopped: true });
  });

  it('releases held-back text when it turns out not to be a stop string', () => {
    expect(run(['END'], ['the E', 'ND'])).toEqual({ shown: 'the ', stopped: true });
    expect(run(['END'], ['the E', 'dge'])).toEqual({ shown: 'the Edge', stopped: false });
    expect(run(['END'], ['the E'])).toEqual({ shown: 'the E', stopped: false });
  });

  it('stops at the earliest of several stop strings', () => {
    expect(run(['b', 'a'], ['xxab'])).toEqual({ shown: 'xx', stopped: true });
  });

  it('without stop strings passes everything through', () => {
    expect(run([], ['a', 'b'])).toEqual({ shown: 'ab', stopped: false });
  });
});
