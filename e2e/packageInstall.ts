// What installing the packed Folio does to a consumer's app: the bytes it adds, and whether
// anything in what it brings would run an install script.
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Bytes of every file under `dir` (links counted as themselves, not followed). */
export function dirBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    total += stat.isDirectory() ? dirBytes(path) : stat.size;
  }
  return total;
}

/** Every installed package folder under a node_modules, nested ones included, by path. */
export function installedPackages(nodeModules: string): string[] {
  if (!existsSync(nodeModules)) return [];
  const found: string[] = [];
  for (const name of readdirSync(nodeModules)) {
    if (name.startsWith('.')) continue;
    const path = join(nodeModules, name);
    if (!lstatSync(path).isDirectory()) continue;
    const folders = name.startsWith('@') ? readdirSync(path).map((n) => join(path, n)) : [path];
    for (const folder of folders) {
      if (!existsSync(join(folder, 'package.json'))) continue;
      found.push(folder);
      found.push(...installedPackages(join(folder, 'node_modules')));
    }
  }
  return found;
}

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];

/**
 * The install scripts a package has: those its package.json names, and the `node-gyp rebuild`
 * npm runs by itself for a package with a binding.gyp and no install script.
 */
export function installScripts(folder: string): string[] {
  const pkg = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const named = INSTALL_SCRIPTS.filter((s) => pkg.scripts?.[s]);
  return existsSync(join(folder, 'binding.gyp')) && !named.includes('install') ? [...named, 'install (node-gyp)'] : named;
}
