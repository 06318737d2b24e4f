import { describe, expect, it } from 'vitest';
import type { WireEvent, WireSink } from '../engine/events.ts';
import type { LoadedInfo, WorkerApi } from '../engine/WorkerApi.ts';
import { SharedLoad } from './SharedLoad.ts';
import { TabRegistry } from './TabRegistry.ts';
import { leaveTab, tabEngineApi } from './tabEngineApi.ts';

const INFO: LoadedInfo = { backend: 'webgpu', adapter: 'test', fallbackReason: null, warning: null, fromCache: false, network: { requests: 3, bytes: 1000 } };

/** An engine whose requests run until the test ends or aborts them, and each holds one block. */
function fakeEngine() {
  let n = 0;
  let loads = 0;
  const running = new Map<string, WireSink>();
  const aborted: string[] = [];
  const engine = {
    holdLock: async () => false,
    load: async () => (loads++, INFO),
    generate: async (_params: unknown, sink: WireSink) => {
      const id = `req-${++n}`;
      running.set(id, sink);
      return id;
    },
    abort: (id: string) => {
      if (running.delete(id)) aborted.push(id);
    },
    blockMap: () => [...running.keys()].map((id) => ({ state: 'held' as const, owners: [id], persisted: false })),
  } as unknown as WorkerApi;
  const end = (id: string) => {
    running.get(id)!([{ type: 'done', usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } } as WireEvent]);
    running.delete(id);
  };
  return { engine, running, aborted, end, loads: () => loads };
}

function setup() {
  const fake = fakeEngine();
  const registry = new TabRegistry({ heartbeatTimeoutMs: 1_000, idleTimeoutMs: 1_000, now: () => 0, startTimer: () => () => {}, onIdle: () => {} });
  const shared = new SharedLoad((o, p) => fake.engine.load(o, p));
  registry.attach('A');
  registry.attach('B');
  return { ...fake, registry, A: tabEngineApi(fake.engine, registry, shared, 'A'), B: tabEngineApi(fake.engine, registry, shared, 'B') };
}

const OPTS = { modelUrl: 'http://x/m', backend: 'auto' as const };

describe('tabEngineApi', () => {
  it('the second tab attaches to the first load and says it fetched nothing', async () => {
    const { A, B, loads } = setup();
    const a = await A.load(OPTS);
    const b = await B.load(OPTS);
    expect(loads()).toBe(1);
    expect(a.sharing).toEqual({ mode: 'shared', tab: 'tab 1', attached: false, reason: null });
    expect(a.network).toEqual(INFO.network);
    expect(b.sharing).toEqual({ mode: 'shared', tab: 'tab 2', attached: true, reason: null });
    expect(b.network).toEqual({ requests: 0, bytes: 0 });
  });

  it('a tab that left during the load is refused its engine, not brought back', async () => {
    const { A, registry, engine } = setup();
    leaveTab(engine, registry, 'A');
    await expect(A.load(OPTS)).rejects.toMatchObject({ name: 'EngineClosedError', reason: 'disposed' });
    expect(registry.has('A')).toBe(false);
  });

  it('each tab gets only its own events, and aborts only its own requests', async () => {
    const { A, B, end, aborted } = setup();
    const seen: Record<string, WireEvent[]> = { A: [], B: [] };
    const a = await A.generate({}, (e) => seen.A.push(...e));
    const b = await B.generate({}, (e) => seen.B.push(...e));
    await A.abort(b);
    expect(aborted).toEqual([]);
    end(b);
    expect(seen).toEqual({ A: [], B: [expect.objectContaining({ type: 'done' })] });
    await A.abort(a);
    expect(aborted).toEqual([a]);
  });

  it('the KV map and stats name the tab of each request', async () => {
    const { A, B, registry } = setup();
    const a = await A.generate({}, () => {});
    const b = await B.generate({}, () => {});
    expect((await A.blockMap()).map((c) => c.tabs)).toEqual([['tab 1'], ['tab 2']]);
    expect(registry.summary('B')).toEqual([{ tab: 'tab 1', requests: [a], you: false }, { tab: 'tab 2', requests: [b], you: true }]);
  });

  it('a tab that leaves has its requests aborted (blocks freed); the other tab keeps streaming', async () => {
    const { A, B, registry, engine, running, aborted } = setup();
    const a1 = await A.generate({}, () => {});
    const a2 = await A.generate({}, () => {});
    const b = await B.generate({}, () => {});
    leaveTab(engine, registry, 'A');
    expect(aborted.sort()).toEqual([a1, a2].sort());
    expect([...running.keys()]).toEqual([b]);
    expect((await B.blockMap()).map((c) => c.tabs)).toEqual([['tab 2']]);
    // A request the gone tab had in flight is aborted as soon as it is admitted.
    await A.generate({}, () => {});
    expect([...running.keys()]).toEqual([b]);
  });
});
