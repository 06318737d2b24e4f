#!/usr/bin/env node
// Prepares a fresh checkout: npm packages, Debian's Chromium for the browser tests, and the
// default model (stories260K converted to the Hugging Face layout by the project's converter).
// Idempotent and quiet when everything is already in place.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
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

// The original llama2.c files, for machines without ../shared (pinned by sha256, as in SOURCE.md).
const ORIGIN = 'https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K';
const FILES = {
  'stories260K.bin': 'b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696',
  'tok512.bin': '037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312',
};

async function download(dir) {
  mkdirSync(dir, { recursive: true });
  for (const [name, sha] of Object.entries(FILES)) {
    if (existsSync(join(dir, name))) continue;
    log(`downloading ${ORIGIN}/${name}`);
    const res = await fetch(`${ORIGIN}/${name}`);
    if (!res.ok) throw new Error(`${ORIGIN}/${name}: HTTP ${res.status}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const got = createHash('sha256').update(bytes).digest('hex');
    if (got !== sha) throw new Error(`${name}: sha256 ${got}, expected ${sha}`);
    writeFileSync(join(dir, name), bytes);
  }
}

async function defaultModel() {
  const out = join(root, 'models', 'stories260K');
  if (existsSync(join(out, 'tokenizer.json')) && existsSync(join(out, 'model.safetensors'))) return;
  const shared = process.env.FOLIO_SHARED ?? resolve(root, '..', 'shared');
  let src = join(shared, 'models', 'stories260K');
  if (!existsSync(join(src, 'stories260K.bin'))) {
    log(`no ${src}: fetching the llama2.c originals instead`);
    src = join(root, 'models', 'llama2c-stories260K');
    await download(src);
  }
  log(`converting ${src} to ${out}`);
  run(process.execPath, [join(root, 'bin', 'folio.mjs'), 'convert', '--checkpoint', join(src, 'stories260K.bin'), '--tokenizer', join(src, 'tok512.bin'), '--out', out]);
}

npmPackages();
if (!process.argv.includes('--no-browser')) chromium();
await defaultModel();
