#!/usr/bin/env node
// `npm run bench [-- --quick | --no-smollm | --no-gpu | --out DIR]`: prepares the checkout
// (scripts/setup.mjs), then runs src/bench/main.ts under tsx in a child Node whose environment
// lets Dawn (the `webgpu` package) find SwiftShader: those variables must be set before the
// process starts. Results go to bench-results/<timestamp>/ (git-ignored).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, [resolve(root, 'scripts', 'setup.mjs')], { cwd: root, stdio: 'inherit' });

const env = { ...process.env };
const CHROMIUM_LIB = '/usr/lib/chromium';
if (existsSync(`${CHROMIUM_LIB}/vk_swiftshader_icd.json`)) {
  env.VK_ICD_FILENAMES ??= `${CHROMIUM_LIB}/vk_swiftshader_icd.json`;
  env.LD_LIBRARY_PATH = [CHROMIUM_LIB, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--import', './src/bench/register.mjs', 'src/bench/main.ts', ...process.argv.slice(2)],
  { cwd: root, env, stdio: 'inherit' },
);
process.exit(r.status ?? 1);
