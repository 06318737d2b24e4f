import { ComputeError, FolioError } from '../errors.ts';

/**
 * What a request receives when something inside the engine's loop threw: Folio's typed errors
 * as they are; anything else (a bug, a backend's untyped failure) as a ComputeError that keeps
 * its name and message, so that no caller ever has to handle an untyped error.
 */
export function typedError(e: unknown): FolioError {
  if (e instanceof FolioError) return e;
  const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const error = new ComputeError('internal', `the step could not be computed (${why}); this is a bug in Folio`);
  if (e instanceof Error) error.cause = e;
  return error;
}
