/** Continuous batching over the paged KV cache; pure TypeScript, driven by the engine. */
export { type AdmissionReserve, DEFAULT_RESERVE, NO_RESERVE } from './reserve.ts';
export { type AddRequest, Scheduler, type SchedulerOptions } from './Scheduler.ts';
export { type FinishReason, requestUsage, Sequence, type SequenceStatus, type Usage } from './Sequence.ts';
export { forwardBatchOf, type SampledToken, type ScheduledChunk, type StepPlan } from './StepPlan.ts';
