import type { Usage } from '../api/openai.ts';

/**
 * What a remote engine can say about itself: its requests, the tokens the server counted, and
 * the latency this page saw. No KV, prefix or step figures: those live on the server (vLLM
 * reports them on its own `/metrics`).
 */
export interface RemoteStats {
  backend: 'remote';
  baseURL: string;
  model: string;
  requests: { running: number; finished: number; failed: number; aborted: number };
  /** As the server's usage chunks count them; `cachedPrompt` where the server reports it. */
  tokens: { prompt: number; generated: number; cachedPrompt: number; decodeTokensPerSecond: number };
  /** Milliseconds, over finished requests: from sending to the first text, and to the end. */
  latency: { meanFirstTokenMs: number | null; meanRequestMs: number | null; lastFirstTokenMs: number | null };
}

/** One request's part in the counters; exactly one of finished/failed/aborted ends it. */
export interface RequestTrack {
  firstText(): void;
  finished(usage: Usage): void;
  failed(): void;
  aborted(): void;
}

export class RemoteCounters {
  private running = 0;
  private finished = 0;
  private failed = 0;
  private aborted = 0;
  private prompt = 0;
  private generated = 0;
  private cached = 0;
  private firstTokenMs = 0;
  private firstTokens = 0;
  private lastFirstTokenMs: number | null = null;
  private requestMs = 0;
  private decodeMs = 0;
  private decodeTokens = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  start(): RequestTrack {
    const t0 = this.now();
    let first: number | null = null;
    let over = false;
    this.running++;
    const end = (): boolean => {
      if (over) return false;
      over = true;
      this.running--;
      return true;
    };
    return {
      firstText: () => {
        if (first !== null || over) return;
        first = this.now();
        this.lastFirstTokenMs = first - t0;
      },
      finished: (usage) => {
        if (!end()) return;
        const t = this.now();
        this.finished++;
        this.prompt += usage.prompt_tokens;
        this.generated += usage.completion_tokens;
        this.cached += usage.prompt_tokens_details.cached_tokens;
        this.requestMs += t - t0;
        if (first !== null) {
          this.firstTokenMs += first - t0;
          this.firstTokens++;
          this.decodeMs += t - first;
          this.decodeTokens += Math.max(0, usage.completion_tokens - 1);
        }
      },
      failed: () => void (end() && this.failed++),
      aborted: () => void (end() && this.aborted++),
    };
  }

  snapshot(baseURL: string, model: string): RemoteStats {
    return {
      backend: 'remote',
      baseURL,
      model,
      requests: { running: this.running, finished: this.finished, failed: this.failed, aborted: this.aborted },
      tokens: {
        prompt: this.prompt,
        generated: this.generated,
        cachedPrompt: this.cached,
        decodeTokensPerSecond: this.decodeMs > 0 ? (this.decodeTokens * 1000) / this.decodeMs : 0,
      },
      latency: {
        meanFirstTokenMs: this.firstTokens > 0 ? this.firstTokenMs / this.firstTokens : null,
        meanRequestMs: this.finished > 0 ? this.requestMs / this.finished : null,
        lastFirstTokenMs: this.lastFirstTokenMs,
      },
    };
  }
}
