import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Dawn (the `webgpu` package) finds SwiftShader, Debian Chromium's CPU Vulkan, only through
// these variables; test workers are forked after this file runs, so they inherit them.
const CHROMIUM_LIB = '/usr/lib/chromium';
if (existsSync(`${CHROMIUM_LIB}/vk_swiftshader_icd.json`)) {
  process.env.VK_ICD_FILENAMES ??= `${CHROMIUM_LIB}/vk_swiftshader_icd.json`;
  process.env.LD_LIBRARY_PATH = [CHROMIUM_LIB, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
}

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'e2e/**/*.e2e.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
