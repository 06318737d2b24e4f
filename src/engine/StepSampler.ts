import type { TokenLogprob } from '../api/openai.ts';
import { ComputeError } from '../errors.ts';
import { newConstraint } from '../grammar/Constraint.ts';
import { vocabularyOf } from '../grammar/tokenBytes.ts';
import { applyAdjustments, logitAdjustments, rowMask } from '../sampling/logitAdjustments.ts';
import { Rng } from '../sampling/Rng.ts';
import { firstNonFinite, logSoftmax, sample, topLogprobs } from '../sampling/sample.ts';
import type { Scheduler } from '../scheduler/Scheduler.ts';
import type { Sequence } from '../scheduler/Sequence.ts';
import type { ScheduledChunk, SampledToken, StepPlan } from '../scheduler/StepPlan.ts';
import type { Speculation } from '../speculative/Speculation.ts';
import type { Tokenizer } from '../tokenizer/Tokenizer.ts';
import type { EngineMeter } from './EngineMeter.ts';
import { NON_FINITE_ID } from './ForwardBackend.ts';
import { type Choice, Request } from './Request.ts';
import type { StepOutput } from './runForward.ts';
import { StopFilter } from './StopFilter.ts';
import { typedError } from './typedError.ts';

/** What the sampler needs of the engine. */
export interface SamplerHost {
  readonly tokenizer: Tokenizer;
  readonly meter: EngineMeter;
  readonly scheduler: Scheduler<Request>;
  readonly speculation: Speculation;
  /** The request a live sequence belongs to, unless it was aborted or has finished. */
  liveRequest(seqId: string): Request | undefined;
  /** Ends one request with `error` and frees its blocks; the others go on. */
  failRequest(request: Request, error: Error): void;
}

/** A new choice of `request`: its decoder (primed with the last context tokens), stop filter and Rng. */
export function newChoice(tokenizer: Tokenizer, request: Request, index: number, seqId: string, context: readonly number[]): Choice {
  const seed = request.params.sampling.seed;
  return {
    index,
    seqId,
    decoder: tokenizer.streamDecoder({ skipSpecial: true, context: context.slice(-4) }),
    stop: new StopFilter(request.params.stop),
    rng: new Rng(seed === null ? (Math.random() * 2 ** 32) >>> 0 : seed, seed === null ? 0 : index * 0x9e3779b9),
    done: false,
    constraint: request.params.grammar ? newConstraint(request.params.grammar, vocabularyOf(tokenizer)) : null,
  };
}

/**
 * The sampling half of a step: one token for each chunk that ends a sequence, the n > 1 fork,
 * and the text streamed. Each request's work is its own: an exception in it (non-finite
 * logits, a token the tokenizer cannot decode) ends that request with a typed error, never
 * the others in the step.
 */
export class StepSampler {
  constructor(private readonly host: SamplerHost) {}

  sampleStep(plan: StepPlan, step: StepOutput): SampledToken[] {
    const out: SampledToken[] = [];
    plan.chunks.forEach((chunk, i) => {
      if (!chunk.sample) return;
      const seq = this.host.scheduler.get(chunk.seqId);
      const request = this.host.liveRequest(chunk.seqId);
      if (!seq || !request) return;
      const mine: SampledToken[] = [];
      try {
        const verifying = step.verify?.[i];
        const row = verifying ?? step.rows?.[i] ?? null;
        const id = step.ids?.[i];
        this.host.speculation.countForward(request);
        if ((row && firstNonFinite(row) >= 0) || id === NON_FINITE_ID) {
          throw new ComputeError('non-finite', `the model's logits after position ${chunk.startPos + chunk.tokens.length - 1} hold NaN or Inf (weights or activations beyond f32's range)`);
        }
        if (verifying) {
          const verdict = this.verifyOne(seq, request, chunk, verifying);
          if (verdict) mine.push(verdict);
        } else {
          for (const target of this.targets(seq, request)) {
            const token = this.sampleOne(target, request, row, id);
            if (token !== null) mine.push({ seqId: target.id, token });
          }
        }
      } catch (e) {
        // Its tokens are dropped with it: appendTokens() ignores sequences that are gone.
        this.host.failRequest(request, typedError(e));
        return;
      }
      out.push(...mine);
    });
    return out;
  }

  /** The sequence, and on a request's first sampled step with n > 1, its new children. */
  private targets(seq: Sequence<Request>, request: Request): Sequence<Request>[] {
    if (request.forked || request.params.n <= 1) return [seq];
    request.forked = true;
    const n = request.params.n;
    const children = this.host.scheduler.fork(seq.id, n, Array.from({ length: n - 1 }, (_, k) => `${request.id}/${k + 1}`));
    children.forEach((child, k) => {
      request.sequences.push(child);
      request.choices.push(newChoice(this.host.tokenizer, request, k + 1, child.id, seq.tokens));
    });
    return [seq, ...children];
  }

  /** Samples and streams one token; null when the sequence ended here (EOS or a stop string). */
  private sampleOne(seq: Sequence<Request>, request: Request, logits: Float32Array | null, argmax?: number): number | null {
    const choice = request.choiceOf(seq.id)!;
    const p = request.params;
    // OpenAI's penalties count this choice's own output, bans and the grammar mask the row: all
    // after the non-finite check, to the row that is sampled (logprobs stay the model's). The
    // device applied the same (wgsl/logit_adjust.wgsl) when it drew `argmax`.
    let row: Float32Array | null = null;
    if (logits) {
      const adj = logitAdjustments(seq.outputTokens, p.penalties, p.logitBias);
      row = applyAdjustments(logits, adj, rowMask(logits.length, choice.constraint?.mask() ?? null, adj?.banned ?? []));
    }
    const token = row ? sample(row, p.sampling, choice.rng, seq.tokens) : argmax!;
    return this.emit(seq, request, choice, token, logits, 0) === 'stop' ? null : token;
  }

  /**
   * A verification chunk (speculative decoding): its accepted drafts and the target's own next
   * token, streamed one by one until one ends the sequence. Null when the sequence ended (EOS or
   * a stop string); else the last token emitted, after `accepted` drafts (the scheduler rolls
   * back the slots of the rest).
   */
  private verifyOne(seq: Sequence<Request>, request: Request, chunk: ScheduledChunk, rows: Float32Array): SampledToken | null {
    const choice = request.choiceOf(seq.id)!;
    const verdict = this.host.speculation.verify(seq, chunk, rows, rows.length / chunk.tokens.length, () => choice.rng.next());
    const tokens = [...chunk.tokens.slice(1, 1 + verdict.accepted), verdict.token];
    for (let j = 0; ; j++) {
      const end = this.emit(seq, request, choice, tokens[j], null, j);
      if (end === 'stop') {
        // The drafts accepted before the stop were streamed: they are output (ids, usage) as
        // plain decoding's would be, though the scheduler no longer holds the sequence to append them.
        for (const t of tokens.slice(0, j)) seq.appendToken(t);
        return null;
      }
      if (end === 'last' || j === tokens.length - 1) return { seqId: seq.id, token: tokens[j], accepted: j };
    }
  }

  /**
   * Counts and streams one token, `ahead` tokens after the sequence's last (a verification's
   * accepted drafts come before it): 'stop' when the sequence ended here (EOS, a stop string, a
   * finished grammar), 'last' when it is its maxTokens-th.
   */
  private emit(seq: Sequence<Request>, request: Request, choice: Choice, token: number, logits: Float32Array | null, ahead: number): 'stop' | 'last' | 'more' {
    const p = request.params;
    this.host.meter.generatedTokens++;
    if (this.host.tokenizer.eosIds.includes(token)) {
      request.finishChoice(choice, 'stop');
      this.host.scheduler.finish(seq.id, 'stop');
      return 'stop';
    }
    choice.constraint?.accept(token);
    const logprobs = p.topLogprobs === null || !logits ? null : [this.logprobOf(logits, token, p.topLogprobs)];
    // A grammar that is complete and takes nothing more ends the choice as EOS would.
    const stopped = request.emitText(choice, choice.decoder.push(token), logprobs) || choice.constraint?.finished === true;
    const last = seq.numOutput + ahead + 1 >= seq.maxTokens;
    if (stopped || last) {
      request.finishChoice(choice, stopped ? 'stop' : 'length');
      // The scheduler finishes 'length' itself when the token is appended.
      if (stopped) {
        this.host.scheduler.finish(seq.id, 'stop');
        return 'stop';
      }
      return 'last';
    }
    return 'more';
  }

  private logprobOf(logits: Float32Array, token: number, top: number): TokenLogprob {
    const lp = logSoftmax(logits);
    const entry = (id: number) => {
      const text = this.host.tokenizer.decode([id]);
      return { token: text, logprob: lp[id], bytes: [...new TextEncoder().encode(text)] };
    };
    return { ...entry(token), top_logprobs: topLogprobs(lp, top).map((t) => entry(t.id)) };
  }
}
