#!/usr/bin/env node
// Prepares a fresh checkout: npm packages, Debian's Chromium for the browser tests, and the
// default model (stories260K converted to the Hugging Face layout by the project's converter).
// Idempotent and quiet when everything is already in place.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
const log = (msg) => process.stderr.write(`[setup] ${msg}\n`);

function npmPackages() {
  const stamp = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= statSync(lock).mtimeMs) return;
  log('installing npm packages (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

function chromium() {
  if (process.env.FOLIO_SKIP_BROWSER === '1' || existsSync('/usr/bin/chromium')) return;
  if (process.getuid?.() !== 0) {
    log('Debian\'s chromium is missing and this is not root: run `sudo apt-get install -y chromium` for the browser tests');
    return;
  }
  log('installing Debian\'s chromium (apt-get)');
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', 'chromium'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function defaultModel() {
  const out = join(root, 'models', 'stories260K');
  if (existsSync(join(out, 'tokenizer.json')) && existsSync(join(out, 'model.safetensors'))) return;
  const shared = process.env.FOLIO_SHARED ?? resolve(root, '..', 'shared');
  const src = join(shared, 'models', 'stories260K');
  if (!existsSync(join(src, 'stories260K.bin'))) {
    throw new Error(`the default model's llama2.c checkpoint is not at ${src}; set FOLIO_SHARED to the folder holding models/stories260K`);
  }
  log(`converting ${src} to ${out}`);
  run(process.execPath, [join(root, 'bin', 'folio.mjs'), 'convert', '--checkpoint', join(src, 'stories260K.bin'), '--tokenizer', join(src, 'tok512.bin'), '--out', out]);
}

npmPackages();
if (!process.argv.includes('--no-browser')) chromium();
defaultModel();
