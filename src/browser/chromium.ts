import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { WebGpuUnavailableError } from '../errors.ts';

export const CHROMIUM_PATH = process.env.FOLIO_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless Debian Chromium with WebGPU on SwiftShader (a CPU Vulkan), the only WebGPU these
 * machines have. The background-networking flags keep it from dialling out on a closed network.
 */
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches Chromium with a fresh profile (or `userDataDir` to keep IndexedDB across launches).
 * Never downloads a browser: Debian's is the one used.
 */
export async function launchChromium(opts: { userDataDir?: string; headless?: boolean } = {}): Promise<Chromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new WebGpuUnavailableError(`Chromium was not found at ${CHROMIUM_PATH}; run \`npm run setup\` (it installs Debian's chromium) or set FOLIO_CHROMIUM`);
  }
  const fresh = opts.userDataDir === undefined;
  const dir = opts.userDataDir ?? mkdtempSync(join(tmpdir(), 'folio-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM_PATH,
    headless: opts.headless ?? true,
    args: CHROMIUM_ARGS,
  });
  return {
    context,
    async close() {
      await context.close();
      if (fresh) rmSync(dir, { recursive: true, force: true });
    },
  };
}
