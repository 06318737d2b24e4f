import type { ChatMessage } from '../api/openai.ts';
import { encodeToolChat, type ToolChat } from '../api/tools.ts';
import { ContextLengthError, KvCacheFullError } from '../errors.ts';
import type { AdmissionReserve } from '../scheduler/reserve.ts';
import { Scheduler } from '../scheduler/Scheduler.ts';
import type { KvBlockStore } from '../storage/KvBlockStore.ts';
import type { StepPlan } from '../scheduler/StepPlan.ts';
import type { Tokenizer } from '../tokenizer/Tokenizer.ts';
import type { BlockCell, EngineStats, EventSink } from './events.ts';
import type { ForwardBackend } from './ForwardBackend.ts';
import { parseRequest } from './GenerationRequest.ts';
import { applyKvMoves, scoreFilledBlocks } from './kvMoves.ts';
import { type KvDefaults, kvForRequest } from './kvRequest.ts';
import { DeviceRecovery } from './DeviceRecovery.ts';
import { EngineMeter } from './EngineMeter.ts';
import { PrefixPersistence } from './PrefixPersistence.ts';
import { Request } from './Request.ts';
import { runForward, type StepOutput } from './runForward.ts';
import { newChoice, StepSampler } from './StepSampler.ts';
import { typedError } from './typedError.ts';
import { Speculation, type SpeculativeOptions } from '../speculative/Speculation.ts';
import { yieldToEventLoop } from './yieldToEventLoop.ts';

export interface EngineOptions extends SpeculativeOptions {
  modelName: string;
  fingerprint: string;
  /** Tokens per step across the batch (chunked prefill budget). */
  maxBatchTokens?: number;
  /** What the weights are and take on the device, for stats. */
  weights?: EngineStats['weights'];
  /** Free blocks admission keeps for the running sequences' growth (the scheduler's default when absent). */
  reserve?: AdmissionReserve;
  /** Every request's KV budget, eviction policy and context overflow unless it sets its own. */
  kv?: KvDefaults;
  adapter?: string;
  /** Where full prefix blocks persist (IndexedDB); none: prefix KV lives on the device only. */
  prefixStore?: KvBlockStore;
  /** Prompts that must contain a block before it is persisted; 2 by default. */
  persistAfterHits?: number;
  onWarning?: (message: string) => void;
  /** Called once per step with its plan and host timings (benchmarks, profiling); no cost when absent. */
  onStep?: (s: StepTiming) => void;
  /**
   * Builds a new backend after the device was lost (loadEngine supplies it for WebGPU); the
   * engine awaits it before its next request. Without it, a lost device stays lost.
   */
  rebuildBackend?: () => Promise<ForwardBackend>;
}

/** One engine step as `onStep` sees it; times in ms from performance.now(). */
export interface StepTiming {
  plan: StepPlan;
  /** performance.now() when the step began (before schedule()). */
  start: number;
  scheduleMs: number;
  /** Copy-on-write copies and the forward, to the logits (or argmax ids) in hand. */
  forwardMs: number;
  sampleMs: number;
  appendMs: number;
  /** The whole step up to streaming its events, before the engine yields to the event loop. */
  stepMs: number;
}

/** What `pinPrefix` did: the prefix's tokens, its full blocks, and how many of them are stored. */
export interface PinResult {
  tokens: number;
  blocks: number;
  persisted: number;
  /** Blocks that were restored from IndexedDB instead of computed. */
  restored: number;
}

/**
 * The engine: one step = schedule, copy-on-write copies, one forward for the whole batch,
 * sample, stream. Many requests share one paged KV pool; each step's events go to each
 * request's sink in one batch.
 */
export class Engine {
  /** The backend and its KV bookkeeping; both are replaced when a lost device is rebuilt. */
  private device: { backend: ForwardBackend; scheduler: Scheduler<Request> };
  private readonly requests = new Map<string, Request>();
  readonly meter = new EngineMeter();
  private readonly sampler = new StepSampler(this);
  private running: Promise<void> | null = null;
  private nextId = 0;
  private readonly persistence: PrefixPersistence | null;
  private readonly recovery: DeviceRecovery;
  readonly speculation: Speculation;

  constructor(
    backend: ForwardBackend,
    readonly tokenizer: Tokenizer,
    private readonly opts: EngineOptions,
  ) {
    this.device = { backend, scheduler: this.newScheduler(backend) };
    this.speculation = new Speculation(opts.drafters, opts.speculative, opts.onWarning, backend.config.vocabSize);
    this.persistence = opts.prefixStore ? new PrefixPersistence(this.scheduler.kv, backend, opts.prefixStore, opts) : null;
    // A rebuilt device starts with an empty KV cache: the lost device's blocks must never be hit.
    this.recovery = new DeviceRecovery(opts.rebuildBackend, opts.onWarning, (b) => this.install(b));
  }

  /** Fresh KV bookkeeping over `backend`: an empty prefix cache, so no hit points at old KV. */
  private install(backend: ForwardBackend): void {
    this.device = { backend, scheduler: this.newScheduler(backend) };
    this.persistence?.rebind(this.scheduler.kv, backend);
  }

  get backend(): ForwardBackend {
    return this.device.backend;
  }

  get scheduler(): Scheduler<Request> {
    return this.device.scheduler;
  }

  private newScheduler(backend: ForwardBackend): Scheduler<Request> {
    const { numBlocks, blockSize } = backend;
    return new Scheduler<Request>({ numBlocks, blockSize, modelFingerprint: this.opts.fingerprint, maxBatchTokens: this.opts.maxBatchTokens ?? 256, maxModelLen: backend.config.maxPositions, reserve: this.opts.reserve });
  }

  modelName(): string {
    return this.opts.modelName;
  }

  get fingerprint(): string {
    return this.opts.fingerprint;
  }

  /**
   * Validates and queues a request; events stream to `sink`. Throws typed errors before
   * allocating. With a prefix store, the prompt's full blocks missing on the device are first
   * restored from IndexedDB, so that admission hits them.
   */
  async generate(raw: unknown, sink: EventSink): Promise<string> {
    const params = parseRequest(raw, { vocabSize: this.backend.config.vocabSize, speculative: this.speculation.limits });
    const prompt = this.encode('messages' in params.prompt ? params.prompt : params.prompt.text, true, 'messages' in params.prompt ? undefined : params.prompt.addBos);
    const { kv, maxTokens } = kvForRequest(params.kv, this.opts.kv ?? {}, this.backend, prompt.length, params.maxTokens);
    await this.recovery.ready();
    await this.persistence?.restore(prompt, false);
    // A device lost meanwhile: wait for its successor, then add with no await in between.
    while (this.recovery.pending) await this.recovery.pending;
    this.recovery.check();
    return this.start(params, prompt, maxTokens, sink, kv);
  }

  /**
   * A prompt's ids: chat messages through the model's template (with the assistant's turn
   * opened when `generation`), or raw text; never empty, since a model needs a token to start.
   */
  private encode(input: string | ToolChat, generation: boolean, addBos: boolean | undefined): number[] {
    const ids = typeof input === 'string' ? this.tokenizer.encode(input, { addBos }) : encodeToolChat(this.tokenizer, input, generation);
    if (ids.length === 0) ids.push(this.tokenizer.bosId ?? 0);
    return ids;
  }

  private start(params: ReturnType<typeof parseRequest>, prompt: number[], maxTokens: number, sink: EventSink, kv?: ReturnType<typeof kvForRequest>['kv']): string {
    const id = `req-${this.nextId++}`;
    const request = new Request(id, params, sink);
    const seq = this.scheduler.add({ id: `${id}/0`, requestId: id, prompt, maxTokens, params: request, kv });
    request.sequences.push(seq);
    request.choices.push(newChoice(this.tokenizer, request, 0, seq.id, prompt));
    this.requests.set(id, request);
    this.meter.promptTokens += prompt.length;
    this.running ??= this.loop().finally(() => (this.running = null));
    return id;
  }

  /**
   * Declares a shared prefix (a system prompt): computes its KV if the device lacks it (or
   * restores it from IndexedDB) and persists its full blocks. Resolves once they are stored.
   */
  async pinPrefix(input: string | ChatMessage[]): Promise<PinResult> {
    const prompt = this.encode(typeof input === 'string' ? input : { messages: input }, false, undefined);
    const context = this.backend.config.maxPositions;
    if (prompt.length >= context) throw new ContextLengthError(prompt.length, 1, context);
    await this.recovery.ready();
    const restored = (await this.persistence?.restore(prompt, true)) ?? 0;
    while (this.recovery.pending) await this.recovery.pending;
    this.recovery.check();
    const prefix = this.scheduler.kv.prefix;
    const chain = prefix.newChain();
    prefix.extend(chain, prompt);
    if (prefix.lookup(chain, prompt).length < chain.hashes.length || chain.hashes.length === 0) {
      // Prefill it: one greedy token, whose blocks stay behind as cached prefix blocks.
      const done = new Promise<void>((resolve, reject) => {
        this.start(parseRequest({ prompt: '', max_tokens: 1, temperature: 0 }), prompt, 1, (events) => {
          for (const e of events) {
            if (e.type === 'done') resolve();
            else if (e.type === 'error') reject(e.error);
          }
        });
      });
      await done;
    }
    this.persistence?.persistWanted();
    await this.flushStorage();
    const persisted = this.persistence?.countStored(chain.hashes) ?? 0;
    return { tokens: prompt.length, blocks: chain.hashes.length, persisted, restored };
  }

  /** Resolves when every queued prefix-block write is in IndexedDB. */
  async flushStorage(): Promise<void> {
    await this.persistence?.flush();
  }

  /** IndexedDB's prefix blocks were removed (cache cleared or model deleted): drop the stale marks. */
  forgetRemovedPrefixBlocks(): void {
    this.persistence?.forgetRemoved();
  }

  /** Cancels a request and frees every block it held, at once. */
  abort(requestId: string): void {
    const request = this.requests.get(requestId);
    if (!request) return;
    for (const seq of request.sequences) this.scheduler.abort(seq.id);
    this.requests.delete(requestId);
  }

  /** Resolves when no request is left. */
  async idle(): Promise<void> {
    while (this.running || this.recovery.pending) await (this.running ?? this.recovery.pending);
  }

  /**
   * Steps until no work is left. Nothing thrown in a step escapes: a request's own failure
   * ends that request (StepSampler), a failed forward the requests in its step, and anything
   * else (a bug in the bookkeeping) every request in flight, typed, over fresh KV bookkeeping,
   * so that the engine is never left wedged and serves the requests that come next.
   */
  private async loop(): Promise<void> {
    try {
      while (this.scheduler.hasWork) {
        if (!(await this.step())) return;
        // Let new requests and aborts in between steps, even on the synchronous CPU backend.
        await yieldToEventLoop();
      }
    } catch (e) {
      this.failAll(typedError(e));
      this.install(this.backend);
    }
  }

  /** One step: schedule, copies + forward, sample, append, stream. False when the loop must stop. */
  private async step(): Promise<boolean> {
    const onStep = this.opts.onStep;
    const start = onStep ? performance.now() : 0;
    const drafting = this.speculation.draft(this.scheduler);
    if (drafting) await drafting;
    const plan = this.scheduler.schedule();
    if (plan.chunks.length === 0) {
      this.scheduler.appendTokens([]);
      this.failAll(new KvCacheFullError('no request could be scheduled: the KV cache is too small for the waiting requests'));
      return false;
    }
    let out: StepOutput;
    const t0 = performance.now();
    const scheduleMs = onStep ? t0 - start : 0;
    try {
      await applyKvMoves(this.backend, plan);
      out = await runForward(this.backend, plan, (seqId) => this.liveRequest(seqId));
      await scoreFilledBlocks(this.backend, this.scheduler);
    } catch (e) {
      const error = typedError(e);
      if (this.recovery.handles(error)) {
        // The device is gone, and with it every request's KV.
        this.failAll(error);
        this.scheduler.appendTokens([]);
        this.recovery.begin(this.backend, error);
        return false;
      }
      // Only the requests in this step end (abort first: the scheduler then expects no tokens).
      for (const chunk of plan.chunks) {
        const request = this.liveRequest(chunk.seqId);
        if (request) this.failRequest(request, error);
      }
      this.scheduler.appendTokens([]);
      return true;
    }
    const forwardMs = performance.now() - t0;
    this.meter.step(plan, forwardMs);
    const t1 = onStep ? performance.now() : 0;
    const sampled = this.sampler.sampleStep(plan, out);
    const t2 = onStep ? performance.now() : 0;
    this.scheduler.appendTokens(sampled);
    const t3 = onStep ? performance.now() : 0;
    // Newly committed blocks that should persist: read back now, written in the background.
    this.persistence?.persistWanted();
    for (const request of this.requests.values()) {
      if (!request.flush()) this.failRequest(request, typedError(new Error('its event sink threw')));
      else if (request.finished) {
        this.requests.delete(request.id);
        this.meter.finishedRequests++;
      }
    }
    this.speculation.stepDone(plan);
    onStep?.({ plan, start, scheduleMs, forwardMs, sampleMs: t2 - t1, appendMs: t3 - t2, stepMs: performance.now() - start });
    return true;
  }

  /** The request a live sequence belongs to, unless it was aborted or has finished. */
  liveRequest(seqId: string): Request | undefined {
    const request = this.scheduler.get(seqId)?.params;
    return request && this.requests.has(request.id) ? request : undefined;
  }

  /** Ends one request with `error` and frees its blocks at once; the others go on. */
  failRequest(request: Request, error: Error): void {
    this.requests.delete(request.id);
    for (const seq of request.sequences) this.scheduler.abort(seq.id);
    request.fail(error);
  }

  /** Ends every request in flight; each settles even if freeing its blocks throws. */
  private failAll(error: Error): void {
    const all = [...this.requests.values()];
    this.requests.clear();
    for (const request of all) {
      request.fail(error);
      try {
        for (const seq of request.sequences) this.scheduler.abort(seq.id);
      } catch {
        // Broken bookkeeping: the loop's catch installs fresh bookkeeping.
      }
    }
  }

  stats(): EngineStats {
    const stats = this.meter.stats(this, this.opts.adapter ?? this.backend.name);
    stats.deviceLosses = this.recovery.losses;
    if (this.opts.weights) stats.weights = this.opts.weights;
    if (this.persistence) stats.persistence = this.persistence.stats();
    return stats;
  }

  blockMap(): BlockCell[] {
    return this.scheduler.snapshot().map((b) => ({
      state: b.state,
      owners: [...new Set(b.owners.map((o) => o.split('/')[0]))],
      persisted: b.persisted ?? false,
      ...(b.sink || b.evicted ? { sink: b.sink, evicted: b.evicted } : {}),
    }));
  }
}
