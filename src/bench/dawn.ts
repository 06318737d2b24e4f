/** Bench reporting: which adapter Dawn (src/gpu/dawn.ts) gives the GPU benchmarks. */
import { dawnGpu } from '../gpu/dawn.ts';

export interface AdapterDescription {
  /** e.g. "Google SwiftShader (vendor google, architecture swiftshader)". */
  name: string;
  /** A CPU implementation of WebGPU: absolute GPU timings mean little, ratios matter. */
  swiftShader: boolean;
  fallback: boolean;
}

/** Names the adapter the GPU benchmarks will get, or null when there is none. */
export async function describeAdapter(): Promise<AdapterDescription | null> {
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await dawnGpu().requestAdapter({ powerPreference: 'high-performance' });
  } catch {
    return null;
  }
  if (!adapter) return null;
  const info = (adapter as { info?: GPUAdapterInfo }).info;
  const parts = [info?.vendor && `vendor ${info.vendor}`, info?.architecture && `architecture ${info.architecture}`, info?.device && `device ${info.device}`]
    .filter(Boolean)
    .join(', ');
  const description = info?.description || 'unnamed adapter';
  const swiftShader = /swiftshader/i.test(`${info?.architecture} ${info?.description} ${info?.device}`);
  return { name: parts ? `${description} (${parts})` : description, swiftShader, fallback: info?.isFallbackAdapter === true };
}
