import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run setup` puts the default model (stories260K, converted by the project). */
export function defaultModelPath(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'stories260K');
}
