import type * as folio from '../../src/api/index.ts';

declare global {
  interface Window {
    folio: typeof folio;
  }
}
