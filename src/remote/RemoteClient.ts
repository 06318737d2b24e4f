import type { EngineEvent, EngineHandle, EventSink } from '../engine/events.ts';
import { AbortError, FolioError, NetworkError } from '../errors.ts';
import { ChunkEvents } from './chunkEvents.ts';
import { responseFailure } from './httpErrors.ts';
import type { ResolvedEndpoint } from './RemoteEndpoint.ts';
import { remoteRequest } from './remoteRequest.ts';
import type { RemoteCounters, RequestTrack } from './remoteStats.ts';
import { readEvents } from './sse.ts';
import { Watchdog } from './Watchdog.ts';

/** Why a request stopped before its end: the page (or the engine) aborted it, or the server went quiet. */
type Stop = 'abort' | 'idle' | null;

const reason = (e: unknown) => (e instanceof Error ? (e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message) : String(e));

/**
 * Requests to one server and model, over fetch (a page's or a worker's): each is a POST whose
 * answer streams as server-sent events, read into engine events. Every request in flight can be
 * stopped, alone (abort) or all together (closeAll); stopping one closes its connection, which
 * is how vLLM learns to stop generating it.
 */
export class RemoteClient {
  private readonly live = new Map<string, AbortController>();
  private serial = 0;

  constructor(readonly endpoint: ResolvedEndpoint, private readonly counters: RemoteCounters) {}

  private headers(): Record<string, string> {
    const auth: Record<string, string> = this.endpoint.apiKey ? { Authorization: `Bearer ${this.endpoint.apiKey}` } : {};
    return { ...this.endpoint.headers, ...auth };
  }

  /**
   * A handle whose requests also stop when `signal` fires, even before the server has answered
   * (the API layer learns a request's id only once the answer's headers are in).
   */
  handle(signal?: AbortSignal): EngineHandle {
    return {
      generate: (params, sink) => this.generate(params, sink, signal),
      abort: (id) => this.live.get(id)?.abort(),
      // A RemoteEngine answers these itself; its API layer asks for the model name only.
      stats: () => Promise.reject(new Error('a remote engine reports RemoteStats (engine.stats()), not engine stats')),
      blockMap: () => [],
      modelName: () => this.endpoint.model,
    };
  }

  private idle(url: string, partialText?: string[]): NetworkError {
    return new NetworkError(url, `the server sent nothing for ${this.endpoint.idleTimeoutMs} ms (idleTimeoutMs)`, { partialText: partialText && [...partialText] });
  }

  /** Stops every request in flight (dispose, unload, reload). */
  closeAll(): void {
    for (const c of this.live.values()) c.abort();
  }

  /** Resolves with the request's id once the server accepted it (2xx); rejects with its typed refusal. */
  private async generate(params: unknown, sink: EventSink, signal: AbortSignal | undefined): Promise<string> {
    const req = remoteRequest(params, this.endpoint.model);
    const url = this.endpoint.baseURL + req.path;
    const id = `remote-${++this.serial}`;
    const controller = new AbortController();
    const stop = () => controller.abort();
    signal?.addEventListener('abort', stop, { once: true });
    this.live.set(id, controller);
    const watchdog = new Watchdog(this.endpoint.idleTimeoutMs, stop);
    const cleanup = () => {
      watchdog.stop();
      signal?.removeEventListener('abort', stop);
      this.live.delete(id);
    };
    const track = this.counters.start();
    const stopped = (): Stop => (watchdog.fired ? 'idle' : controller.signal.aborted ? 'abort' : null);
    let res: Response;
    let bodyText = '';
    try {
      res = await this.endpoint.fetch(url, {
        method: 'POST',
        headers: { ...this.headers(), 'Content-Type': 'application/json', Accept: 'text/event-stream' },
        body: req.body,
        signal: controller.signal,
      });
      watchdog.reset();
      if (!res.ok) bodyText = await res.text();
    } catch (e) {
      cleanup();
      const why = stopped();
      if (why === 'abort') {
        track.aborted();
        throw new AbortError();
      }
      track.failed();
      throw why === 'idle' ? this.idle(url) : new NetworkError(url, `request failed (${reason(e)}); in a browser, also check that the server's CORS headers allow this origin`);
    }
    if (!res.ok || !res.body) {
      cleanup();
      track.failed();
      throw res.ok ? new NetworkError(url, 'the answer has no body') : responseFailure(url, res, bodyText);
    }
    const type = res.headers.get('content-type') ?? '';
    if (!type.includes('text/event-stream')) {
      cleanup();
      track.failed();
      res.body.cancel().catch(() => {});
      throw new NetworkError(url, `the server answered a streaming request with ${type || 'no content type'}, not text/event-stream`);
    }
    void this.pump(url, res.body, req, sink, track, watchdog, stopped).finally(cleanup);
    return id;
  }

  private async pump(
    url: string,
    body: ReadableStream<Uint8Array>,
    req: { kind: 'chat' | 'text'; legacyTop: number | null },
    sink: EventSink,
    track: RequestTrack,
    watchdog: Watchdog,
    stopped: () => Stop,
  ): Promise<void> {
    const chunks = new ChunkEvents(url, req.kind, req.legacyTop);
    try {
      let done = false;
      for await (const ev of readEvents(body)) {
        watchdog.reset();
        if (ev.data === '[DONE]') {
          done = true;
          break;
        }
        let chunk: unknown;
        try {
          chunk = JSON.parse(ev.data);
        } catch {
          throw chunks.malformed(`an event that is not JSON: ${JSON.stringify(ev.data.slice(0, 80))}`);
        }
        const events: EngineEvent[] = chunks.read(chunk);
        if (events.some((e) => e.type === 'delta')) track.firstText();
        if (events.length > 0) sink(events);
      }
      if (!done) throw new NetworkError(url, 'the stream ended before `data: [DONE]`: the connection dropped mid-answer', { partialText: [...chunks.text] });
      const last = chunks.done();
      track.finished(last.usage);
      sink([last]);
    } catch (e) {
      const why = stopped();
      if (why === 'abort') {
        // The page aborted (its stream already ended with AbortError) or the engine closed.
        track.aborted();
        return;
      }
      track.failed();
      const error = why === 'idle'
        ? this.idle(url, chunks.text)
        : e instanceof FolioError
          ? e
          : new NetworkError(url, `the stream broke (${reason(e)})`, { partialText: [...chunks.text] });
      sink([{ type: 'error', error }]);
    }
  }
}
