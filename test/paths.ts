import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The shared data folder beside the checkout (models and fixtures); FOLIO_SHARED overrides. */
export const SHARED = process.env.FOLIO_SHARED ?? resolve(ROOT, '..', 'shared');
/** The default model, converted by `npm run setup`. */
export const DEFAULT_MODEL = resolve(ROOT, 'models', 'stories260K');
if (!existsSync(SHARED)) throw new Error(`shared data not found at ${SHARED}; set FOLIO_SHARED`);
