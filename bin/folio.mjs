#!/usr/bin/env node
// In a checkout (src/ and the dev dependency tsx present), the CLI runs from its TypeScript
// sources through tsx, so it is never stale. An installed package has neither: it runs the
// JavaScript that `npm run build:lib` (prepack) built into dist-lib/cli/.
import { existsSync } from 'node:fs';

async function fromSources() {
  if (!existsSync(new URL('../src/cli/main.ts', import.meta.url))) return null;
  try {
    const { tsImport } = await import('tsx/esm/api');
    return await tsImport('../src/cli/main.ts', import.meta.url);
  } catch (e) {
    // Sources without tsx (e.g. installed from git): the built CLI, where there is one.
    if (e?.code === 'ERR_MODULE_NOT_FOUND' && existsSync(new URL('../dist-lib/cli/main.js', import.meta.url))) return null;
    throw e;
  }
}

const { main } = (await fromSources()) ?? (await import('../dist-lib/cli/main.js'));
process.exitCode = await main(process.argv.slice(2));
