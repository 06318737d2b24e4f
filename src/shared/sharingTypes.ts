import type { BlockCell, EngineStats } from '../engine/events.ts';

/** `info.sharing`: how a `shared: true` engine runs in this tab. */
export interface SharingInfo {
  /** 'shared': one SharedWorker's engine serves every tab with the same model and options; 'dedicated': this tab's own worker. */
  mode: 'shared' | 'dedicated';
  /** This tab's name in the shared engine ("tab 2"), as stats() and the KV map show it; null when dedicated. */
  tab: string | null;
  /** Whether this tab found the model already loaded by another tab (and loaded nothing). */
  attached: boolean;
  /** Why a `shared: true` engine runs in a dedicated worker instead; null when shared. */
  reason: string | null;
}

/** createEngine's `shared` option in full (`true` is `{}`). */
export interface SharedOptions {
  /**
   * How long the engine stays loaded after the last tab leaves (dispose(), or the tab closes)
   * while the SharedWorker lives on; 30 s by default. The first tab's value holds.
   */
  idleTimeoutMs?: number;
  /** Makes the SharedWorker (folio.js passes its own); `name` keys the engine by model and options. */
  worker?: (name: string) => SharedWorker;
}

/** A tab as the shared engine's stats list it. */
export interface TabSummary {
  tab: string;
  /** Its requests still running (engine request ids). */
  requests: string[];
  /** Whether this is the tab asking. */
  you: boolean;
}

/** stats() of a shared engine: the engine's, plus who holds what. */
export interface SharedEngineStats extends EngineStats {
  tabs?: TabSummary[];
}

/** A KV map cell of a shared engine: `tabs[k]` is the tab of `owners[k]` ('' when unknown). */
export interface SharedBlockCell extends BlockCell {
  tabs?: string[];
}

/** What a tab says first over its SharedWorker port. */
export interface TabHello {
  /** The tab's random id, unique per createEngine call. */
  tab: string;
  /** A Web Lock the tab holds while it lives (null without Web Locks): granted to the worker, it means the tab is gone. */
  lock: string | null;
  /** The engine's model and options as one string: a worker already serving other ones refuses. */
  key: string;
  /** 'cpu' needs no adapter; anything else does, or the tab falls back to a dedicated worker. */
  needsGpu: boolean;
  idleTimeoutMs?: number;
}

export type TabWelcome = { ok: true; tab: string } | { ok: false; reason: string };

/** A tab's control line to the SharedWorker (Comlink over the SharedWorker's own port). */
export interface TabControl {
  /** Registers the tab and serves the engine to it over `enginePort`. */
  hello(hello: TabHello, enginePort: MessagePort): Promise<TabWelcome>;
  /** The tab lives (a backstop where neither its lock nor pagehide tells of its end). */
  beat(): void;
  /** The tab leaves (dispose, pagehide): its streams are aborted and their blocks freed. */
  bye(): void;
}
