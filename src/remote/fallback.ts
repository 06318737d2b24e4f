import { AbortError, FolioError } from '../errors.ts';
import type { RemoteEndpoint } from './RemoteEndpoint.ts';
import { connectRemote, type RemoteEngine } from './RemoteEngine.ts';

/**
 * `backend: 'auto'` with a remote endpoint: the local engine, or, when the local model cannot
 * load for a reason Folio names (no WebGPU adapter, a model that does not fit, a bad file...),
 * the remote one, whose `info.fallbackReason` says why. A cancelled load (AbortError) and an
 * error Folio did not foresee (a bug) are not reasons to leave the device: they propagate. If
 * the remote endpoint fails too, its error propagates (it is the one the page can act on).
 */
export async function withRemoteFallback<T>(loadLocal: () => Promise<T>, remote: RemoteEndpoint | undefined): Promise<T | RemoteEngine> {
  if (remote === undefined) return loadLocal();
  try {
    return await loadLocal();
  } catch (e) {
    if (!(e instanceof FolioError) || e instanceof AbortError) throw e;
    return connectRemote(remote, `the local model could not load (${e.name}: ${e.message}); using ${remote.model} at ${remote.baseURL}`);
  }
}
