#!/usr/bin/env node
// The CLI is TypeScript; tsx compiles it on the fly so the package ships no build step.
import { tsImport } from 'tsx/esm/api';

const { main } = await tsImport('../src/cli/main.ts', import.meta.url);
process.exitCode = await main(process.argv.slice(2));
