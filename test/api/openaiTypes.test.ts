import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const CHECKS = resolve(HERE, 'openaiTypes.check.ts');
/** A file the compiler sees but the disk does not: it must fail, or the check proves nothing. */
const CONTROL = resolve(HERE, '__openaiTypes.control.ts');
const CONTROL_TEXT = `
import type OpenAI from 'openai';
import type * as Folio from '../../src/api/index.ts';
// 'abort' is a page's own record of a stopped stream, never an OpenAI finish_reason.
export const finish = (r: Folio.FinishReason): OpenAI.Chat.Completions.ChatCompletion.Choice['finish_reason'] => r;
`;

/** Compiles the checks and the control with the project's compiler options; errors by file. */
function compile(): Map<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(resolve(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  const host = ts.createCompilerHost(config.options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (resolve(name) === CONTROL ? ts.createSourceFile(name, CONTROL_TEXT, lang) : read(name, lang, ...rest));
  const exists = host.fileExists.bind(host);
  host.fileExists = (name) => resolve(name) === CONTROL || exists(name);
  const program = ts.createProgram([CHECKS, CONTROL], config.options, host);
  const errors = new Map<string, string[]>();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file ? resolve(d.file.fileName) : '(options)';
    errors.set(file, [...(errors.get(file) ?? []), ts.flattenDiagnosticMessageText(d.messageText, '\n')]);
  }
  return errors;
}

describe("OpenAI's own types accept Folio's requests and responses (issue 13)", () => {
  it('openaiTypes.check.ts compiles against the openai package; the control, which must not, does not', () => {
    const errors = compile();
    expect(errors.get(CHECKS) ?? []).toEqual([]);
    expect(errors.get(CONTROL)?.join('\n')).toMatch(/"abort"/);
  }, 120_000);
});
