// The page side of `folio generate --backend webgpu`: src/cli/generatePage.html loads this in
// headless Chromium; generateInBrowser.ts calls window.folioGenerate and receives the text as
// it streams through window.folioCliText (a Playwright binding into Node).
import { serializeError } from '../api/errorTransfer.ts';
import { GpuBackend } from '../gpu/GpuBackend.ts';
import { loadAnyModel } from '../gguf/loadAnyModel.ts';
import { adapterLimits } from '../engine/loadEngine.ts';
import { openSource } from '../model/ModelSource.ts';
import { pickWeights } from '../quant/quantizeModel.ts';
import { generateWith } from './generateLoop.ts';
import type { GenerateRequest, GenerateResult } from './GenerateRequest.ts';

/** What crosses back to Node: a result, or an error to rebuild with its class (reviveError). */
export type PageOutcome = { ok: true; result: GenerateResult; adapter: string } | { ok: false; error: ReturnType<typeof serializeError> };

export interface GeneratePageWindow {
  /** `req.model` is a URL (absolute, or relative to the page) or an `hf:` spec. */
  folioGenerate(req: GenerateRequest): Promise<PageOutcome>;
  /** Exposed by Node before the page loads. */
  folioCliText?(text: string): Promise<void>;
}

const w = window as unknown as GeneratePageWindow;

w.folioGenerate = async (req) => {
  try {
    const resolve = (model: string) => (/^hf:/.test(model) ? model : new URL(model, location.href).href);
    const spec = resolve(req.model);
    if (req.draftModel !== undefined) req = { ...req, draftModel: resolve(req.draftModel) };
    const choice = req.weights ?? 'f32';
    const limits = choice === 'auto' ? await adapterLimits(navigator.gpu) : null;
    const model = await loadAnyModel(await openSource(spec), { weights: (config) => (choice === 'auto' ? pickWeights(config, limits).option : choice) });
    let adapter = '';
    const result = await generateWith(
      model,
      async (weights, opts) => {
        const gpu = await GpuBackend.create(weights, { ...opts, kernels: req.kernels });
        adapter = `${gpu.gpu.cpuAdapter ? 'WebGPU on a CPU adapter (SwiftShader)' : 'WebGPU'}, ${gpu.kernelsDescription}`;
        return gpu;
      },
      req,
      (text) => (text && w.folioCliText ? w.folioCliText(text) : undefined),
    );
    return { ok: true, result, adapter };
  } catch (e) {
    return { ok: false, error: serializeError(e instanceof Error ? e : new Error(String(e))) };
  }
};
document.body.dataset.ready = 'true';
