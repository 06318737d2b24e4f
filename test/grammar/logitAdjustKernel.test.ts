import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { dawnDevice } from '../../src/gpu/dawn.ts';
import { grid64 } from '../../src/gpu/grid.ts';
import { logitAdjustPipeline, packAdjustWork } from '../../src/gpu/logitAdjust.ts';
import { applyAdjustments, logitAdjustments, maskWords, rowMask } from '../../src/sampling/logitAdjustments.ts';
import { dispatch, readF32, upload } from '../gpu/harness.ts';

const VOCAB = 70; // not a multiple of 32: the last mask word is partial

let device: GPUDevice;
let pipeline: GPUComputePipeline;
beforeAll(async () => {
  device = await dawnDevice();
  pipeline = logitAdjustPipeline(device, VOCAB);
});

describe('wgsl/logit_adjust.wgsl', () => {
  it('equals the host definition bit for bit: penalties, biases, bans, masks, non-finite logits left alone', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            generated: fc.array(fc.nat(VOCAB - 1), { maxLength: 20 }),
            f: fc.double({ min: -2, max: 2, noNaN: true }),
            p: fc.double({ min: -2, max: 2, noNaN: true }),
            bias: fc.dictionary(fc.nat(VOCAB - 1).map(String), fc.oneof(fc.constant(-100), fc.double({ min: -100, max: 100, noNaN: true }))),
            masked: fc.option(fc.array(fc.nat(VOCAB - 1), { minLength: 1, maxLength: 40 })),
            bad: fc.option(fc.nat(VOCAB - 1)),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        fc.integer(),
        async (rows, seed) => {
          let x = seed >>> 0;
          const rand = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 20 - 10;
          const logits = new Float32Array(rows.length * VOCAB).map(rand);
          const deviceRows = rows.map((r, i) => {
            if (r.bad !== null) logits[i * VOCAB + r.bad] = [NaN, Infinity, -Infinity][r.bad % 3];
            const bias = new Map(Object.entries(r.bias).filter(([, b]) => b !== 0).map(([k, b]) => [Number(k), b === -100 ? -Infinity : b]));
            const adjustments = logitAdjustments(r.generated, { frequency: r.f, presence: r.p }, bias.size ? bias : null);
            let grammar: Uint32Array | null = null;
            if (r.masked) {
              grammar = new Uint32Array(maskWords(VOCAB));
              for (const id of r.masked) grammar[id >>> 5] |= 1 << (id & 31);
            }
            return { temperature: 1, topK: 0, topP: 1, u: 0, adjustments, mask: rowMask(VOCAB, grammar, adjustments?.banned ?? []) };
          });
          const want = new Float32Array(logits.length);
          deviceRows.forEach((r, i) => want.set(applyAdjustments(logits.subarray(i * VOCAB, (i + 1) * VOCAB), r.adjustments, r.mask), i * VOCAB));
          const work = packAdjustWork(deviceRows, VOCAB);
          if (!work) return expect(want).toEqual(logits);
          const buf = upload(device, logits.slice());
          await dispatch(device, pipeline, [buf, upload(device, work.work), upload(device, work.masks)], grid64(work.invocations, 65535));
          const got = await readF32(device, buf, logits.length);
          expect(Array.from(got)).toEqual(Array.from(want));
        },
      ),
      { numRuns: 30 },
    );
  });
});
