import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/errors.ts';
import { narrow } from '../../src/model/dtype.ts';
import { parseSafetensors } from '../../src/model/safetensors.ts';
import { encodeSafetensors, f32Tensor } from '../../src/model/safetensorsWriter.ts';
import type { Tensor } from '../../src/model/weights.ts';

const FILE = 'model-00001-of-00002.safetensors';

/** A file with a hand-written header (a string is used verbatim) and `dataLength` zero bytes. */
function rawFile(header: unknown, dataLength: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  return out;
}

function sample(): Uint8Array {
  const tensors = new Map<string, Tensor>([
    ['a', f32Tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3])],
    ['b', narrow(new Float32Array([0.5, -0.25]), [2], 'F16')],
    ['c', narrow(new Float32Array([7]), [1, 1], 'BF16')],
  ]);
  return encodeSafetensors(tensors, { format: 'pt' });
}

/** Parsing must fail with a ModelFormatError naming the file and, when given, the tensor. */
function expectDefect(buffer: Uint8Array, tensor: string | undefined, pattern: RegExp): void {
  let caught: unknown;
  try {
    parseSafetensors(buffer, FILE);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ModelFormatError);
  const err = caught as ModelFormatError;
  expect(err.file).toBe(FILE);
  expect(err.message).toContain(FILE);
  expect(err.tensor).toBe(tensor);
  if (tensor) expect(err.message).toContain(tensor);
  expect(err.message).toMatch(pattern);
}

describe('parseSafetensors', () => {
  it('reads dtypes, shapes, bytes and metadata as views into the buffer', () => {
    const buf = sample();
    const f = parseSafetensors(buf, FILE);
    expect(f.metadata).toEqual({ format: 'pt' });
    expect([...f.tensors.keys()]).toEqual(['a', 'b', 'c']);
    const a = f.tensors.get('a')!;
    expect(a.dtype).toBe('F32');
    expect(a.shape).toEqual([2, 3]);
    expect(a.bytes.buffer).toBe(buf.buffer);
    expect([...new Float32Array(a.bytes.slice().buffer)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(f.tensors.get('b')!.bytes.byteLength).toBe(4);
    expect(f.tensors.get('c')!).toMatchObject({ dtype: 'BF16', shape: [1, 1] });
  });

  it('accepts an empty header, scalars, zero-sized tensors and no metadata', () => {
    expect(parseSafetensors(rawFile({}, 0), FILE).tensors.size).toBe(0);
    const f = parseSafetensors(
      rawFile({ s: { dtype: 'F32', shape: [], data_offsets: [0, 4] }, z: { dtype: 'F16', shape: [0, 3], data_offsets: [4, 4] } }, 4),
      FILE,
    );
    expect(f.metadata).toBeNull();
    expect(f.tensors.get('z')!.bytes.byteLength).toBe(0);
  });

  it('refuses a file shorter than the header length field', () => {
    expectDefect(new Uint8Array(5), undefined, /truncated/);
  });

  it('refuses a header length past the end of the file', () => {
    const buf = rawFile({}, 0);
    new DataView(buf.buffer).setBigUint64(0, 1n << 40n, true);
    expectDefect(buf, undefined, /header length 1099511627776 runs past the end/);
  });

  it('refuses a header that is not JSON, not UTF-8, or not an object', () => {
    expectDefect(rawFile('{"a": {', 0), undefined, /not valid JSON/);
    expectDefect(rawFile('\u00ff', 0).map((b, i) => (i === 8 ? 0xff : b)), undefined, /not valid JSON/);
    expectDefect(rawFile([1, 2], 0), undefined, /not a JSON object/);
    expectDefect(rawFile('null', 0), undefined, /not a JSON object/);
    expectDefect(rawFile({ __metadata__: 'x' }, 0), undefined, /__metadata__/);
  });

  it('refuses dtypes other than F32, F16 and BF16', () => {
    expectDefect(rawFile({ w: { dtype: 'I8', shape: [2], data_offsets: [0, 2] } }, 2), 'w', /dtype "I8" is not supported/);
    expectDefect(rawFile({ w: { dtype: 'Q4_K', shape: [2], data_offsets: [0, 2] } }, 2), 'w', /not supported/);
    expectDefect(rawFile({ w: { shape: [2], data_offsets: [0, 2] } }, 2), 'w', /dtype undefined/);
  });

  it('refuses shapes that are not arrays of non-negative integers', () => {
    for (const shape of [[-1], [1.5], '2', null, [2, '3']]) {
      expectDefect(rawFile({ w: { dtype: 'F32', shape, data_offsets: [0, 4] } }, 4), 'w', /shape .* non-negative integers/);
    }
  });

  it('refuses malformed or backwards data_offsets', () => {
    expectDefect(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4), 'w', /pair of non-negative/);
    expectDefect(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, 4), 'w', /pair of non-negative/);
    expectDefect(rawFile({ w: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, 4), 'w', /begin after they end/);
  });

  it('refuses data_offsets past the data section', () => {
    expectDefect(rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 8), 'w', /run past the end of the data section \(8 bytes\)/);
  });

  it('refuses a byte length that disagrees with the shape and dtype', () => {
    expectDefect(rawFile({ w: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 16] } }, 16), 'w', /holds 16 bytes but F16 \[2, 2\] needs 8/);
  });

  it('refuses overlapping tensors, naming both', () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    expectDefect(rawFile(header, 12), 'b', /overlap those of a \[0, 8\]/);
  });

  it('refuses a truncated data section', () => {
    const buf = sample();
    expectDefect(buf.subarray(0, buf.byteLength - 1), 'c', /truncated/);
  });

  it('never fails with anything but a ModelFormatError on corrupted or cut files', () => {
    const good = sample();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: good.byteLength }),
        fc.array(fc.tuple(fc.nat(good.byteLength - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (cut, flips) => {
          const buf = good.slice(0, cut);
          for (const [i, v] of flips) if (i < buf.length) buf[i] = v;
          try {
            parseSafetensors(buf, FILE);
          } catch (e) {
            expect(e).toBeInstanceOf(ModelFormatError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
