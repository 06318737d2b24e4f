import type { LoadEvent, WorkerFolioEngine } from '../api/index.ts';
import { CachePanel } from './CachePanel.ts';
import { ChatPane } from './ChatPane.ts';
import { KvMap } from './KvMap.ts';
import { ModelPicker } from './ModelPicker.ts';
import { OwnerTracker } from './OwnerTracker.ts';
import { SettingsForm } from './SettingsForm.ts';
import { StatsPanel } from './StatsPanel.ts';

const POLL_MS = 200;
const PROMPTS = ['Once upon a time, there was a little girl named Lily.', 'Once upon a time, there was a big dog.'];

let engine: WorkerFolioEngine | null = null;
const owners = new OwnerTracker();
const settings = new SettingsForm(() => updateSend());
const stats = new StatsPanel();
const cache = new CachePanel(() => void refresh());
const active = new Set<number>();
let timer: ReturnType<typeof setInterval> | null = null;
let refreshing = false;
let refreshAgain = false;

const panes: ChatPane[] = [0, 1].map((i) => new ChatPane(i, {
  engine: () => engine,
  sampling: () => settings.values(),
  blocked: () => (!engine ? 'Load a model first.' : settings.valid ? null : `Fix the sampling settings first: ${settings.problems.join('; ')}.`),
  started(pane) {
    owners.begin(pane);
    active.add(pane);
    timer ??= setInterval(() => void refresh(), POLL_MS);
  },
  ended(pane) {
    owners.end(pane);
    active.delete(pane);
    if (active.size === 0 && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
    void refresh().then(() => cache.refresh());
  },
  pinned() {
    void refresh().then(() => cache.refresh());
  },
}, PROMPTS[i]));
const kvMap = new KvMap(owners, panes.length);

/** Send follows the model and the settings: enabled only when a request could be sent. */
function updateSend(): void {
  for (const p of panes) p.updateSend();
}

/** Reads the KV map and the stats from the worker; skipped while the previous read is out. */
async function refresh(): Promise<void> {
  if (!engine) return;
  // A call during a poll in flight runs once more after it: the last request's end must be
  // shown even when its refresh lands while the poll that read the stats before it is pending.
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    do {
      refreshAgain = false;
      const [cells, s] = await Promise.all([engine.kvMap(), engine.stats()]);
      kvMap.update(cells, cache.storedKvBlocks);
      stats.update(s, panes.map((p) => p.last));
    } while (refreshAgain && engine);
  } catch {
    // the engine was disposed between polls
  } finally {
    refreshing = false;
  }
}

// The old engine stays in use until the new one has loaded; a failed load never reaches here.
// No focus is moved on load: on a phone, focusing the prompt box raises the keyboard unasked.
const picker = new ModelPicker((e, model) => {
  for (const p of panes) p.abort();
  engine?.dispose();
  kvMap.clear();
  kvMap.setTab(e.info.sharing?.tab ?? null);
  engine = e;
  updateSend();
  void cache.attach(e, model).then(() => refresh());
});

document.getElementById('model-picker')!.append(picker.el);
document.getElementById('panes')!.append(...panes.map((p) => p.el));
document.getElementById('settings')!.append(settings.el);
document.getElementById('stats')!.append(stats.el, cache.el);
document.getElementById('kv-map')!.append(kvMap.el);

/** For Playwright scripts and the console: the live engine and the panes. */
declare global {
  interface Window {
    folioApp: {
      readonly engine: WorkerFolioEngine | null;
      panes: ChatPane[];
      /** The last load's progress events. */
      readonly loadEvents: LoadEvent[];
      /** Re-reads the KV map, the stats and the cache card. */
      refresh(): Promise<void>;
    };
  }
}
window.folioApp = {
  get engine() { return engine; },
  get loadEvents() { return picker.events; },
  panes,
  refresh: () => refresh().then(() => cache.refresh()),
};

// `?autoload=0` leaves the choice to the person; by default the small model loads at once.
if (new URLSearchParams(location.search).get('autoload') !== '0') void picker.load();
