import type * as folio from '../../src/api/index.ts';
import type { FolioInternals } from './internals.ts';

declare global {
  interface Window {
    folio: typeof folio;
    /** Set by internals.ts on the harness page. */
    folioInternals: FolioInternals;
  }
}
