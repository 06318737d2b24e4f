/**
 * The source of a matmul worker, as a string: started from a Blob URL in a browser and with
 * `eval: true` by Node's worker_threads, so it needs no bundler support and no file of its own. It
 * receives the compiled kernel module, the shared memory, where its control words and its own matmul
 * scratch live, then
 * loops: wait for a new generation, run the posted matmul on its share of the rows, count itself
 * done. Control words (Int32Array at `ctrl`, see ThreadPool.ts): 0 generation, 1 done count,
 * 2 format index, 3 w, 4 rowBytes, 5 x, 6 y, 7 rows, 8 cols, 9 n, 10 workers + 1 (the share count);
 * 11 stop.
 */
export const POOL_WORKER_SOURCE = `
const FORMATS = ['f32', 'f16', 'q8_0', 'q4_0'];
function start(msg, post) {
  const { module, memory, ctrl, index, f16tab, scratch } = msg;
  WebAssembly.instantiate(module, { env: { memory } }).then((instance) => {
    const k = instance.exports;
    k.f16tab.value = f16tab;
    const c = new Int32Array(memory.buffer, ctrl, 12);
    let gen = Atomics.load(c, 0); // before 'ready': the first dispatch comes after it
    post('ready');
    for (;;) {
      Atomics.wait(c, 0, gen);
      gen = Atomics.load(c, 0);
      if (Atomics.load(c, 11) !== 0) return;
      const rows = c[7], shares = c[10];
      // Shares end on whole quads of rows (the kernels' weight layout), as ThreadPool's shareEnd.
      const end = (i) => (i >= shares ? rows : 4 * Math.floor((rows * i) / (4 * shares)));
      const r0 = end(index), r1 = end(index + 1);
      if (r1 > r0) k['matmul_' + FORMATS[c[2]]](c[3], c[4], c[5], c[6], rows, c[8], c[9], r0, r1, scratch);
      Atomics.add(c, 1, 1);
      Atomics.notify(c, 1);
    }
  });
}
if (typeof self !== 'undefined' && typeof self.postMessage === 'function') {
  self.onmessage = (e) => start(e.data, (m) => self.postMessage(m));
} else {
  const { parentPort } = require('node:worker_threads');
  parentPort.once('message', (m) => start(m, (r) => parentPort.postMessage(r)));
}
`;
