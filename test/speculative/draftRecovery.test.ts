import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/cpu/cpuKernels.ts';
import type { ForwardBackend } from '../../src/engine/ForwardBackend.ts';
import { DeviceLostError } from '../../src/errors.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { type LoadedModel, loadModel } from '../../src/model/loadModel.ts';
import type { DraftRequest } from '../../src/speculative/Drafter.ts';
import { type DraftHost, loadDraftModel } from '../../src/speculative/draftModelLoad.ts';
import { RecoveringDraft } from '../../src/speculative/draftRecovery.ts';
import { DEFAULT_MODEL } from '../paths.ts';

const BS = 16;
const requests: DraftRequest[] = [
  { seqId: 'a', context: [1, 403, 407, 261, 378], k: 4 },
  { seqId: 'b', context: [1, 365, 471, 300], k: 3 },
];

let stories: LoadedModel;
beforeAll(async () => {
  stories = await loadModel(new FolderSource(DEFAULT_MODEL));
});

/** A CPU backend whose calls fail with DeviceLostError once `device.lost` is set, as a lost GPU's do. */
async function mortal(device: { lost: boolean }): Promise<ForwardBackend> {
  const { backend } = await createCpuBackend(stories.weights, { blockSize: BS, numBlocks: 32 });
  const check = () => {
    if (device.lost) throw new DeviceLostError('the GPU device was lost (unknown); reload the model to continue');
  };
  return {
    name: 'webgpu', config: backend.config, blockSize: backend.blockSize, numBlocks: backend.numBlocks,
    forward: async (batch) => (check(), backend.forward(batch)),
    copyBlocks: async (pairs) => (check(), backend.copyBlocks(pairs)),
    dispose: () => backend.dispose(),
  };
}

const tokensOf = async (d: { propose(r: readonly DraftRequest[]): Promise<{ tokens: number[] }[]> }) => (await d.propose(requests)).map((x) => x.tokens);

describe('RecoveringDraft: a draft model whose device is lost', () => {
  it('drafts nothing while its device is rebuilt, then drafts as before; one warning', async () => {
    const warnings: string[] = [];
    let device = { lost: false };
    const draft = new RecoveringDraft(await mortal(device), async () => mortal((device = { lost: false })), (m) => warnings.push(m));
    const before = await tokensOf(draft);
    expect(before.map((t) => t.length)).toEqual([4, 3]);
    device.lost = true;
    expect(await tokensOf(draft)).toEqual([[], []]);
    expect(draft.losses).toBe(1);
    await draft.rebuilding;
    expect(await tokensOf(draft)).toEqual(before);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/draft model's GPU device was lost; recreating it/);
  });

  it('turns drafting off with one warning when no device can be had, and never throws', async () => {
    const warnings: string[] = [];
    const device = { lost: false };
    const draft = new RecoveringDraft(await mortal(device), () => Promise.reject(new Error('no usable GPU adapter')), (m) => warnings.push(m));
    device.lost = true;
    expect(await tokensOf(draft)).toEqual([[], []]);
    await draft.rebuilding;
    expect(draft.stopped).toBe(true);
    for (let i = 0; i < 3; i++) expect(await tokensOf(draft)).toEqual([[], []]);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatch(/could not be recreated \(no usable GPU adapter\); requests with method 'draft' now decode without drafts/);
    draft.release('a');
    draft.dispose();
  });
});

describe('loadDraftModel on WebGPU (Dawn): the draft rebuilds its own lost device', () => {
  it('after a loss drafts the same tokens on a new device; when no adapter is left, drafts nothing', async () => {
    const real = dawnGpu();
    const devices: GPUDevice[] = [];
    let adapters = true;
    // Dawn's GPU, recording the devices it hands out, and refusing adapters once `adapters` is false.
    const gpu = {
      requestAdapter: async (o?: GPURequestAdapterOptions) => {
        const adapter = adapters ? await real.requestAdapter(o) : null;
        if (!adapter) return null;
        return new Proxy(adapter, {
          get(t, key) {
            if (key === 'requestDevice') return async (d?: GPUDeviceDescriptor) => devices[devices.push(await t.requestDevice(d)) - 1];
            const v = Reflect.get(t, key, t) as unknown;
            return typeof v === 'function' ? v.bind(t) : v;
          },
        });
      },
    } as unknown as GPU;
    const warnings: string[] = [];
    const host: DraftHost = { name: 'stories260K', config: stories.weights.config, tokenizerJson: stories.tokenizerJson, backend: 'webgpu', gpu, blockSize: BS, numBlocks: 32, onWarning: (m) => warnings.push(m) };
    const draft = await loadDraftModel({ draftModel: DEFAULT_MODEL }, host);
    expect(draft).toBeInstanceOf(RecoveringDraft);
    const recovering = draft as RecoveringDraft;
    try {
      const before = await tokensOf(draft);
      expect(before.map((t) => t.length)).toEqual([4, 3]);
      const lose = async () => {
        const device = devices.at(-1)!;
        device.destroy();
        await device.lost;
      };
      await lose();
      expect(await tokensOf(draft)).toEqual([[], []]);
      await recovering.rebuilding;
      expect(devices).toHaveLength(2);
      expect(await tokensOf(draft)).toEqual(before);

      adapters = false; // the GPU went away for good
      await lose();
      expect(await tokensOf(draft)).toEqual([[], []]);
      await recovering.rebuilding;
      expect(recovering.stopped).toBe(true);
      expect(await tokensOf(draft)).toEqual([[], []]);
      expect(recovering.losses).toBe(2);
      expect(warnings.filter((w) => /device was lost; recreating/.test(w))).toHaveLength(2);
      expect(warnings.filter((w) => /could not be recreated/.test(w))).toHaveLength(1);
      expect(warnings).toHaveLength(3);
    } finally {
      draft.dispose();
    }
  });
});
