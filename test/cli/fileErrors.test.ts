import { describe, expect, it } from 'vitest';
import { onPath } from '../../src/cli/fileErrors.ts';
import { InvalidParamsError } from '../../src/errors.ts';

// Running as root, the tests cannot provoke a real EPERM or EACCES: the mapping is checked directly.
describe('file-system errors on a path the user gave', () => {
  it('EPERM and EACCES read as permission problems naming the option', async () => {
    for (const [code, why] of [
      ['EPERM', 'operation not permitted'],
      ['EACCES', 'permission denied'],
    ]) {
      const fail = () => Promise.reject(Object.assign(new Error(`${code}: raw`), { code, syscall: 'open' }));
      const err = await onPath('out', '/x/y', fail).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidParamsError);
      expect((err as InvalidParamsError).param).toBe('out');
      expect((err as Error).message).toBe(`out: /x/y: ${why}`);
    }
  });

  it('passes on errors that are not from the file system', async () => {
    const bug = new TypeError('a bug');
    await expect(onPath('out', '/x', () => Promise.reject(bug))).rejects.toBe(bug);
  });
});
