/// <reference lib="webworker" />
// The engine worker, plus one test hook: the message 'folio-test-lose-device' destroys every
// GPU device the engine asked for, as a driver reset would, so that a test sees an error that
// ends requests after admission cross the worker.
import '../../workers/engine.worker.ts';

const devices: GPUDevice[] = [];
const gpu = navigator.gpu;
const requestAdapter = gpu.requestAdapter.bind(gpu);
gpu.requestAdapter = async (opts) => {
  const adapter = await requestAdapter(opts);
  if (adapter) {
    const requestDevice = adapter.requestDevice.bind(adapter);
    adapter.requestDevice = async (desc) => {
      const device = await requestDevice(desc);
      devices.push(device);
      return device;
    };
  }
  return adapter;
};

self.addEventListener('message', (e) => {
  if (e.data === 'folio-test-lose-device') for (const d of devices.splice(0)) d.destroy();
});
