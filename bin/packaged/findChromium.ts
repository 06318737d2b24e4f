import { existsSync } from 'node:fs';
import { WebGpuUnavailableError } from '../../src/errors.ts';

/** Where Chromium or Chrome usually lives on Linux and macOS, tried after FOLIO_CHROMIUM. */
const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

const HOW_TO_GET_ONE =
  'Install one (Debian/Ubuntu: `sudo apt-get install chromium`; anywhere: `npx playwright install chromium`, ' +
  'then point FOLIO_CHROMIUM at the executable it prints), set FOLIO_CHROMIUM=/path/to/chromium, or use --backend cpu';

/**
 * The browser the WebGPU backend runs in. An installed package never downloads one: it uses
 * what the machine has, or says how to get it.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env, exists: (path: string) => boolean = existsSync): string {
  const chosen = env.FOLIO_CHROMIUM;
  if (chosen) {
    if (exists(chosen)) return chosen;
    throw new WebGpuUnavailableError(`FOLIO_CHROMIUM is ${chosen}, which does not exist. ${HOW_TO_GET_ONE}`);
  }
  const found = CANDIDATES.find(exists);
  if (found) return found;
  throw new WebGpuUnavailableError(`the webgpu backend runs in Chromium, and none was found (looked in ${CANDIDATES.join(', ')}). ${HOW_TO_GET_ONE}`);
}
