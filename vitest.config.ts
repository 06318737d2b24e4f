import { existsSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

// Dawn (the `webgpu` package) finds SwiftShader, Debian Chromium's CPU Vulkan, only through
// these variables; test workers are forked after this file runs, so they inherit them.
const CHROMIUM_LIB = '/usr/lib/chromium';
if (existsSync(`${CHROMIUM_LIB}/vk_swiftshader_icd.json`)) {
  process.env.VK_ICD_FILENAMES ??= `${CHROMIUM_LIB}/vk_swiftshader_icd.json`;
  process.env.LD_LIBRARY_PATH = [CHROMIUM_LIB, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
}

// FOLIO_SLOW=1 (CI) adds test/slow/: realistic shapes on SwiftShader, tens of seconds each.
const slow = process.env.FOLIO_SLOW === '1';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'e2e/**/*.e2e.test.ts'],
    exclude: slow ? configDefaults.exclude : [...configDefaults.exclude, 'test/slow/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
