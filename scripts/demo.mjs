#!/usr/bin/env node
// `npm run demo`: prepare (setup), build the app (vite build -> dist/, models copied in), then
// drive it in headless Chromium (src/demo/demo.ts, compiled on the fly by tsx).
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, ['scripts/setup.mjs'], { cwd: root, stdio: 'inherit' });
// setup may have just installed the packages: load vite and tsx only now.
const { build } = await import('vite');
await build({ root, configFile: resolve(root, 'vite.config.ts'), logLevel: 'warn' });
const { tsImport } = await import('tsx/esm/api');
await tsImport('../src/demo/demo.ts', import.meta.url);
