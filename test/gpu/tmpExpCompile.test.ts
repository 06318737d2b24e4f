import { it } from 'vitest';
import { dawnDevice } from '../../src/gpu/dawn.ts';
import { tiledPipeline } from '../../src/gpu/gemv.ts';

it('compile', async () => {
  const device = await dawnDevice();
  for (const v of [{ xSilu: false, xNorm: false }, { xSilu: false, xNorm: true }, { xSilu: true, xNorm: false }, { xSilu: false, xNorm: false }]) {
    const c0 = process.cpuUsage();
    const t = performance.now();
    tiledPipeline(device, { format: 'F32', ...v });
    await device.queue.onSubmittedWorkDone();
    const c = process.cpuUsage(c0);
    console.log('C', JSON.stringify(v), (performance.now() - t).toFixed(0), ((c.user + c.system) / 1000).toFixed(0));
  }
});
