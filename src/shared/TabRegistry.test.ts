import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TabRegistry } from './TabRegistry.ts';

/** A registry on a fake clock whose timers fire only when the test advances time. */
function fakeRegistry(heartbeatTimeoutMs = 1_000, idleTimeoutMs = 5_000) {
  let now = 0;
  let idle = 0;
  const timers = new Set<{ at: number; fn: () => void }>();
  const registry = new TabRegistry({
    heartbeatTimeoutMs,
    idleTimeoutMs,
    now: () => now,
    startTimer: (fn, ms) => {
      const t = { at: now + ms, fn };
      timers.add(t);
      return () => timers.delete(t);
    },
    onIdle: () => idle++,
  });
  const advance = (ms: number) => {
    now += ms;
    for (const t of [...timers]) {
      if (t.at <= now) {
        timers.delete(t);
        t.fn();
      }
    }
  };
  return { registry, advance, idled: () => idle };
}

describe('TabRegistry', () => {
  it('names tabs in order of arrival, once per id', () => {
    const { registry } = fakeRegistry();
    expect(registry.attach('x')).toBe('tab 1');
    expect(registry.attach('y')).toBe('tab 2');
    expect(registry.attach('x')).toBe('tab 1');
    expect(registry.size).toBe(2);
  });

  it('a leaving tab hands back only its running requests; the other keeps its own', () => {
    const { registry } = fakeRegistry();
    registry.attach('x');
    registry.attach('y');
    registry.own('x', 'req-1');
    registry.own('y', 'req-2');
    registry.own('x', 'req-3');
    registry.release('req-3');
    expect(registry.labelOf('req-2')).toBe('tab 2');
    expect(registry.leave('x')).toEqual(['req-1']);
    expect(registry.ownerOf('req-1')).toBeUndefined();
    expect(registry.labelOf('req-1')).toBe('');
    expect(registry.ownerOf('req-2')).toBe('y');
    expect(registry.summary('y')).toEqual([{ tab: 'tab 2', requests: ['req-2'], you: true }]);
    expect(registry.leave('x')).toEqual([]);
  });

  it('a request admitted after its tab left is refused (the caller aborts it)', () => {
    const { registry } = fakeRegistry();
    registry.attach('x');
    registry.leave('x');
    expect(registry.own('x', 'req-1')).toBe(false);
    expect(registry.ownerOf('req-1')).toBeUndefined();
  });

  it('a tab whose heartbeat stops is silent after the timeout; one that beats is not', () => {
    const { registry, advance } = fakeRegistry(1_000);
    registry.attach('x');
    registry.attach('y');
    advance(600);
    registry.beat('y');
    advance(600);
    expect(registry.silent()).toEqual(['x']);
    advance(500);
    expect(registry.silent()).toEqual(['x', 'y']);
  });

  it('unloads after the idle timeout once the last tab left, unless a tab comes back', () => {
    const { registry, advance, idled } = fakeRegistry(1_000, 5_000);
    registry.attach('x');
    advance(10_000);
    expect(idled()).toBe(0);
    registry.leave('x');
    advance(4_000);
    registry.touch(); // a tab connects: it gets a whole idle period to say hello
    advance(4_000);
    registry.attach('y');
    advance(10_000);
    expect(idled()).toBe(0);
    registry.leave('y');
    advance(4_999);
    expect(idled()).toBe(0);
    advance(1);
    expect(idled()).toBe(1);
  });

  it('with no tab ever attached, the worker idles out too', () => {
    const { advance, idled } = fakeRegistry(1_000, 5_000);
    advance(5_000);
    expect(idled()).toBe(1);
  });

  it('property: every running request belongs to exactly one attached tab', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('attach' as const), tab: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('leave' as const), tab: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('own' as const), tab: fc.integer({ min: 0, max: 3 }), req: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ kind: fc.constant('release' as const), req: fc.integer({ min: 0, max: 20 }) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const { registry } = fakeRegistry();
      const aborted = new Set<string>();
      let next = 0;
      for (const o of ops) {
        if (o.kind === 'attach') registry.attach(`t${o.tab}`);
        else if (o.kind === 'leave') for (const r of registry.leave(`t${o.tab}`)) aborted.add(r);
        else if (o.kind === 'own') {
          // Engine request ids are never reused.
          if (!registry.has(`t${o.tab}`)) continue;
          registry.own(`t${o.tab}`, `req-${next++}`);
        } else registry.release(`req-${o.req}`);
        const seen = new Map<string, string>();
        for (const tab of [0, 1, 2, 3].map((t) => `t${t}`).filter((t) => registry.has(t))) {
          for (const s of registry.summary(tab)) {
            for (const r of s.requests) {
              if (s.you) {
                expect(seen.has(r)).toBe(false);
                seen.set(r, tab);
                expect(registry.ownerOf(r)).toBe(tab);
                expect(aborted.has(r)).toBe(false);
              }
            }
          }
        }
      }
    }));
  });
});
