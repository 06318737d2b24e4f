import { describe, expect, it } from 'vitest';
import { sharedKey, sharedWorkerName } from './sharedKey.ts';

describe('sharedKey', () => {
  it('equal options give one key whatever their order; callbacks and the worker do not count', () => {
    const a = sharedKey({ model: './m', kv: { maxBlocks: 64, blockSize: 16 }, backend: 'auto', onProgress: () => {} }, 'http://x/m');
    const b = sharedKey({ backend: 'auto', kv: { blockSize: 16, maxBlocks: 64 }, model: 'm', shared: true, worker: () => null }, 'http://x/m');
    expect(a).toBe(b);
    expect(sharedWorkerName(a)).toBe(sharedWorkerName(b));
    expect(sharedWorkerName(a)).toMatch(/^folio-shared-[0-9a-f]{8}$/);
  });

  it('another model or any option that changes the engine gives another key and name', () => {
    const base = sharedKey({ kv: { maxBlocks: 64 } }, 'http://x/m');
    for (const other of [sharedKey({ kv: { maxBlocks: 65 } }, 'http://x/m'), sharedKey({ kv: { maxBlocks: 64 } }, 'http://x/n'), sharedKey({ kv: { maxBlocks: 64 }, weights: 'q8_0' }, 'http://x/m'), sharedKey({ kv: { maxBlocks: 64 }, backend: 'cpu' }, 'http://x/m')]) {
      expect(other).not.toBe(base);
      expect(sharedWorkerName(other)).not.toBe(sharedWorkerName(base));
    }
  });
});
