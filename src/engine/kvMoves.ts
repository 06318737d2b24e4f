import type { StepPlan } from '../scheduler/StepPlan.ts';
import type { Scheduler } from '../scheduler/Scheduler.ts';
import { InvalidParamsError } from '../errors.ts';
import type { KvLimit } from '../kv/eviction/KvLimit.ts';
import type { ForwardBackend } from './ForwardBackend.ts';
import type { KeyShift } from '../kv/BlockTable.ts';
import { type BlockLayout, scoreBlockData, shiftBlockData } from '../kv/eviction/hostKv.ts';
import { ropeInvFreq } from '../cpu/rope.ts';

/** A step's KV moves before its forward: copy-on-write copies, then context shifts' key rotations (which may rotate a copy). */
export async function applyKvMoves(backend: ForwardBackend, plan: StepPlan): Promise<void> {
  if (plan.copies.length > 0) await backend.copyBlocks(plan.copies);
  if (plan.shifts.length > 0) await shiftKeys(backend, plan.shifts);
}

function layoutOf(backend: ForwardBackend): BlockLayout {
  const c = backend.config;
  return { layers: c.numLayers, kvHeads: c.numKvHeads, blockSize: backend.blockSize, headDim: c.headDim };
}

/** The backend's K-shift, or the host's over readBlocks/writeBlocks for a backend without one. */
async function shiftKeys(backend: ForwardBackend, shifts: readonly KeyShift[]): Promise<void> {
  if (backend.shiftKeys) return backend.shiftKeys(shifts);
  if (!backend.readBlocks || !backend.writeBlocks) throw new Error(`the ${backend.name} backend cannot shift keys`);
  const ids = shifts.map((s) => s.block);
  const data = await backend.readBlocks(ids);
  shiftBlockData(data, shifts, ropeInvFreq(backend.config), layoutOf(backend));
  await backend.writeBlocks(ids, data);
}

/** The backend's block scores, or the host's over readBlocks. */
async function scoreBlocks(backend: ForwardBackend, ids: readonly number[]): Promise<Float32Array> {
  if (backend.scoreBlocks) return backend.scoreBlocks(ids);
  if (!backend.readBlocks) throw new Error(`the ${backend.name} backend cannot score blocks`);
  return scoreBlockData(await backend.readBlocks(ids), ids.length, layoutOf(backend));
}

/** After a forward: scores the blocks it filled for 'paged-eviction' sequences, on the device, and keeps the scores per block. */
export async function scoreFilledBlocks(backend: ForwardBackend, scheduler: Scheduler<unknown>): Promise<void> {
  const ids = scheduler.blocksToScore();
  if (ids.length === 0) return;
  const scores = await scoreBlocks(backend, ids);
  ids.forEach((b, i) => scheduler.kv.pool.setScore(b, scores[i]));
}

/** Refuses, by name, a KV limit the backend cannot run. */
export function checkKvSupport(limit: KvLimit, backend: ForwardBackend): void {
  if (limit.policy === 'paged-eviction' && !backend.scoreBlocks && !backend.readBlocks) throw new InvalidParamsError('kv_policy', `the ${backend.name} backend cannot score blocks for 'paged-eviction'`);
  if (limit.overflow === 'shift' && !backend.shiftKeys && !(backend.readBlocks && backend.writeBlocks)) throw new InvalidParamsError('context_overflow', `the ${backend.name} backend cannot shift keys`);
}
