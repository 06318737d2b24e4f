import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { WebGpuUnavailableError } from '../errors.ts';

export const CHROMIUM_PATH = process.env.FOLIO_CHROMIUM ?? '/usr/bin/chromium';

/** WebGPU on SwiftShader (a CPU Vulkan), the only WebGPU these machines have. */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'];

/**
 * Chromium without WebGPU, as a browser or machine that lacks it shows it to a page: for
 * testing the fallback. (WebGPU is also turned off by feature, in case a build enables it.)
 */
export const NO_WEBGPU_ARGS = ['--disable-features=WebGPU,Vulkan', '--disable-gpu'];

/** The background-networking flags keep it from dialling out on a closed network. */
const BASE_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Headless Debian Chromium with WebGPU on SwiftShader. */
export const CHROMIUM_ARGS = [...WEBGPU_ARGS, ...BASE_ARGS];

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches Chromium with a fresh profile (or `userDataDir` to keep IndexedDB across launches).
 * Never downloads a browser: Debian's is the one used. `webgpu: false` launches it without
 * WebGPU (NO_WEBGPU_ARGS), to test what users without it see; `args` are more flags.
 */
export async function launchChromium(opts: { userDataDir?: string; headless?: boolean; webgpu?: boolean; args?: string[] } = {}): Promise<Chromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new WebGpuUnavailableError(`Chromium was not found at ${CHROMIUM_PATH}; run \`npm run setup\` (it installs Debian's chromium) or set FOLIO_CHROMIUM`);
  }
  const fresh = opts.userDataDir === undefined;
  const dir = opts.userDataDir ?? mkdtempSync(join(tmpdir(), 'folio-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM_PATH,
    headless: opts.headless ?? true,
    args: [...(opts.webgpu === false ? [...NO_WEBGPU_ARGS, ...BASE_ARGS] : CHROMIUM_ARGS), ...(opts.args ?? [])],
  });
  return {
    context,
    async close() {
      await context.close();
      if (fresh) rmSync(dir, { recursive: true, force: true });
    },
  };
}
