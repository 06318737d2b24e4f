/**
 * The bench's sections beyond the original five: each lives in its own file under src/bench/,
 * runs from main.ts in the order listed here, and reports a markdown block and JSON data.
 * `npm run bench -- --only NAME[,NAME]` runs only the named sections (the built-in ones are
 * named kv, hashing, batching, nsampling, prefix).
 */
import type { AdapterDescription } from './dawn.ts';
import type { loadStories } from './engines.ts';
import type { Panel } from './svg.ts';
import { weightsSection } from './weights.ts';
import { ggufReferenceSection } from './ggufReference.ts';
import { cpuSection } from './cpu.ts';
import { longContextSection } from './longContext.ts';
import { rooflineSection } from './roofline.ts';
import { grammarMaskSection } from './grammarMask.ts';
import { speculativeSection } from './speculative.ts';

export interface SectionContext {
  quick: boolean;
  /** Whether to run the SmolLM2-shaped parts (false under --no-smollm). */
  smollm: boolean;
  /** null under --no-gpu or without an adapter. */
  adapter: AdapterDescription | null;
  stories: Awaited<ReturnType<typeof loadStories>>;
  log: (msg: string) => void;
}

export interface SectionResult {
  /** Markdown, starting with its own `## ` heading. */
  markdown: string;
  data: unknown;
  /** Optional chart panels. */
  panels?: Panel[];
  /** Parts not run, and why (listed under "Skipped"). */
  skipped?: string[];
}

export interface BenchSection {
  name: string;
  /** Sections that need WebGPU are skipped without an adapter. */
  needsGpu: boolean;
  run(ctx: SectionContext): Promise<SectionResult>;
}

/** Add a section here: one import, one entry. */
export const SECTIONS: BenchSection[] = [weightsSection, ggufReferenceSection, cpuSection, longContextSection, grammarMaskSection, rooflineSection, speculativeSection];
