// Folio's internals for browser tests: the harness page puts them on window.folioInternals so
// that page.evaluate callbacks (where vitest rewrites dynamic import()) can reach them.
import { CpuBackend } from '../../src/cpu/CpuBackend.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import { loadModel } from '../../src/model/loadModel.ts';
import { UrlSource } from '../../src/model/ModelSource.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';

export const folioInternals = { loadModel, UrlSource, GpuBackend, CpuBackend, Tokenizer };
export type FolioInternals = typeof folioInternals;

(window as unknown as { folioInternals: FolioInternals }).folioInternals = folioInternals;
