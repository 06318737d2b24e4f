import { describe, expect, it } from 'vitest';
import { errorClasses, reviveError, serializeError } from '../../src/api/errorTransfer.ts';
import { packEvents, unpackEvents } from '../../src/api/eventTransfer.ts';
import type { EngineEvent } from '../../src/engine/events.ts';
import * as errors from '../../src/errors.ts';

describe('error classes keep their identity across the worker, minified or not', () => {
  const classes = errorClasses();

  it('every exported error class declares its own errorName, spelled as its export', () => {
    expect(classes.length).toBeGreaterThanOrEqual(14);
    for (const [exported, cls] of classes) {
      // Own, not inherited: a class without one would borrow its parent's name.
      expect(Object.hasOwn(cls, 'errorName'), `${exported} needs static readonly errorName = '${exported}'`).toBe(true);
      expect(cls.errorName).toBe(exported);
    }
  });

  it('an instance is named by errorName, not by the (minifiable) constructor name', () => {
    // A minifier renames classes; what it cannot rename is a string literal.
    class C extends errors.InvalidParamsError {
      static override readonly errorName = 'InvalidParamsError';
    }
    expect(new C('seed', 'bad').name).toBe('InvalidParamsError');
    expect(new errors.ContextLengthError(10, 20, 16).name).toBe('ContextLengthError');
  });

  it('each class revives with its class, name, code and fields from its serialized form', () => {
    for (const [name, cls] of classes) {
      const e = reviveError({ name, message: 'm', fields: { code: 'X', param: 'p', name } });
      expect(e).toBeInstanceOf(cls);
      expect(e).toBeInstanceOf(errors.FolioError);
      expect(e.name).toBe(name);
      expect((e as errors.FolioError).code).toBe('X');
      expect((e as errors.InvalidParamsError).param).toBe('p');
    }
  });

  it('an error event keeps class, name, code and fields through structured clone', () => {
    const sent: EngineEvent[] = [
      { type: 'delta', choice: 0, text: 'a', logprobs: null },
      { type: 'error', error: new errors.DeviceLostError('the GPU device was lost') },
    ];
    // What Comlink's postMessage does to a proxied call's arguments.
    const got = unpackEvents(structuredClone(packEvents(sent)));
    expect(got[0]).toEqual(sent[0]);
    const e = (got[1] as { error: Error }).error;
    expect(e).toBeInstanceOf(errors.DeviceLostError);
    expect(e).toMatchObject({ name: 'DeviceLostError', code: 'DEVICE_LOST', message: 'the GPU device was lost' });
    const p = reviveError(structuredClone(serializeError(new errors.InvalidParamsError('top_p', 'must be in (0, 1]'))));
    expect(p).toBeInstanceOf(errors.InvalidParamsError);
    expect(p).toMatchObject({ name: 'InvalidParamsError', code: 'INVALID_PARAMS', param: 'top_p', message: 'top_p: must be in (0, 1]' });
  });

  it('built-in errors come back as their own class', () => {
    const t = reviveError(structuredClone(serializeError(new RangeError('r'))));
    expect(t).toBeInstanceOf(RangeError);
    const d = reviveError(structuredClone(serializeError(new DOMException('gone', 'OperationError'))));
    expect(d).toBeInstanceOf(DOMException);
    expect(d.name).toBe('OperationError');
  });
});
