import { InvalidParamsError } from '../errors.ts';
import { shown } from './paramChecks.ts';

/**
 * Where the loaded model lives, from the engine's model name (its source's label: a URL,
 * `folder <path>`, or `<endpoint>/<org>/<name> (revision <rev>)`, with `, file <name>` after
 * it for one GGUF file): the file's location and its folder's, or the folder's alone. A Hub
 * download URL's `/resolve/<revision>` tail is dropped, so that `org/name` names it.
 */
function locations(loaded: string): string[] {
  const [, label, file] = /^(.*?)(?:, file (.+))?$/s.exec(loaded)!;
  const folder = label.replace(/^folder /, '').replace(/ \(revision [^)]*\)$/, '').replace(/\/resolve\/[^/]+\/*$/, '').replace(/\/+$/, '');
  return file ? [`${folder}/${file}`, folder] : [folder];
}

function pathSegments(where: string): string[] {
  let path = where;
  try {
    path = new URL(where).pathname;
  } catch {
    // A filesystem path, not a URL.
  }
  return path.split(/[/\\]+/).filter((s) => s.length > 0 && s !== '.');
}

const isAbsoluteUrl = (s: string) => /^[a-z][a-z\d+.-]*:\/\//i.test(s);

/** Whether `requested` names the model at `where`: its URL, or the end of its path in whole segments. */
function names(requested: string, where: string): boolean {
  if (requested.replace(/\/+$/, '') === where) return true;
  if (isAbsoluteUrl(requested)) return locations(requested)[0] === where;
  const have = pathSegments(where);
  const want = pathSegments(requested);
  return want.length > 0 && want.length <= have.length && want.every((s, i) => s === have[have.length - want.length + i]);
}

/**
 * Whether `requested` names the loaded model: the engine's model name, its URL, or the end of
 * its path in whole segments (`stories260K`, `models/stories260K`, `/models/stories260K`,
 * `org/name`; for a GGUF file, also `file.gguf` and `org/name/file.gguf`).
 */
export function namesModel(requested: string, loaded: string): boolean {
  return requested === loaded || locations(loaded).some((where) => names(requested, where));
}

/**
 * Refuses a `model` that names another model than the loaded one: a page that asks for a
 * model it did not load should learn so, not get another model's text (WebLLM refuses too).
 * Absent or null: the loaded model.
 */
export function checkModel(requested: unknown, loaded: string): void {
  if (requested === undefined || requested === null) return;
  if (typeof requested !== 'string') throw new InvalidParamsError('model', `must be a string, got ${shown(requested)}`);
  if (!namesModel(requested, loaded)) throw new InvalidParamsError('model', `${JSON.stringify(requested)} is not the loaded model (${loaded}); give its name, e.g. ${JSON.stringify(pathSegments(locations(loaded)[0]).at(-1) ?? loaded)}, or leave model out`);
}
