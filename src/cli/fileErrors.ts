import { InvalidParamsError } from '../errors.ts';

/** What each file-system error means to someone who typed a path. */
const WHY: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'is a folder, not a file',
  EEXIST: 'exists and is not a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
};

/**
 * Runs a file-system step for a path the user gave as `--option`, turning Node's errors
 * (whose stack traces mean nothing to a CLI user) into an InvalidParamsError naming the option,
 * the path and the reason.
 */
export async function onPath<T>(option: string, path: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code !== 'string' || !code.startsWith('E')) throw e;
    throw new InvalidParamsError(option, `${path}: ${WHY[code] ?? (e as Error).message}`);
  }
}
