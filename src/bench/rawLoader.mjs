// Node module hook: `import src from './x.wgsl?raw'` gives the file's text, as Vite does, so the
// WebGPU backend (whose kernels are imported that way) runs under plain Node for benchmarks.
import { readFile } from 'node:fs/promises';

export async function load(url, context, nextLoad) {
  const u = new URL(url);
  if (u.protocol === 'file:' && u.search === '?raw') {
    u.search = '';
    const text = await readFile(u, 'utf8');
    return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
  }
  return nextLoad(url, context);
}
