import { describe, expect, it } from 'vitest';
import type { LoadedInfo } from '../engine/WorkerApi.ts';
import { InvalidParamsError } from '../errors.ts';
import { SharedLoad } from './SharedLoad.ts';

const INFO: LoadedInfo = { backend: 'webgpu', adapter: 'test', fallbackReason: null, warning: null, fromCache: false, network: { requests: 3, bytes: 1000 } };
const OPTS = { modelUrl: 'http://x/m', backend: 'auto' as const };

describe('SharedLoad', () => {
  it('loads once: a tab arriving during or after the load attaches to it', async () => {
    let loads = 0;
    let finish!: (i: LoadedInfo) => void;
    const shared = new SharedLoad(() => {
      loads++;
      return new Promise((r) => (finish = r));
    });
    const first = shared.get(OPTS);
    const during = shared.get(OPTS);
    finish(INFO);
    expect(await first).toEqual({ info: INFO, attached: false });
    expect(await during).toEqual({ info: INFO, attached: true });
    expect(await shared.get(OPTS)).toEqual({ info: INFO, attached: true });
    expect(loads).toBe(1);
  });

  it('a failed load is forgotten: the next tab loads again', async () => {
    let loads = 0;
    const shared = new SharedLoad(async () => {
      if (loads++ === 0) throw new Error('network down');
      return INFO;
    });
    await expect(shared.get(OPTS)).rejects.toThrow('network down');
    expect(await shared.get(OPTS)).toEqual({ info: INFO, attached: false });
  });

  it('refuses a tab asking for another model or other options, by name', () => {
    const shared = new SharedLoad(async () => INFO);
    shared.claim('a');
    shared.claim('a');
    expect(() => shared.claim('b')).toThrow(InvalidParamsError);
    expect(() => shared.claim('b')).toThrow(/^shared: /);
  });
});
