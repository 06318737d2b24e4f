import { expect } from 'vitest';
import { InvalidParamsError } from '../../src/errors.ts';

/** The parameter `f` names in the InvalidParamsError it throws; fails the test if it throws anything else or nothing. */
export function refusedParam(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidParamsError);
    return (e as InvalidParamsError).param;
  }
  throw new Error('not refused');
}
