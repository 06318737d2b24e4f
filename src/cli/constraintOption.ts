import { readFile } from 'node:fs/promises';
import { InvalidParamsError } from '../errors.ts';
import { parseGbnf } from '../grammar/gbnf.ts';
import { schemaToGbnf } from '../grammar/jsonSchema.ts';
import { onPath } from './fileErrors.ts';

/**
 * `--json-schema FILE` or `--grammar FILE` as GBNF text (compiled and checked here, before any
 * model loads, so that a bad file fails fast with a GrammarError naming the construct); null
 * without either. Text, not a compiled grammar: it travels to the WebGPU page as is.
 */
export async function constraintOption(schemaFile: string | undefined, grammarFile: string | undefined): Promise<string | null> {
  if (schemaFile !== undefined && grammarFile !== undefined) throw new InvalidParamsError('grammar', 'give --json-schema or --grammar, not both');
  if (grammarFile !== undefined) {
    const gbnf = await onPath('grammar', grammarFile, () => readFile(grammarFile, 'utf8'));
    parseGbnf(gbnf, 'grammar');
    return gbnf;
  }
  if (schemaFile === undefined) return null;
  const text = await onPath('json-schema', schemaFile, () => readFile(schemaFile, 'utf8'));
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (e) {
    throw new InvalidParamsError('json-schema', `${schemaFile} is not JSON: ${(e as Error).message}`);
  }
  const gbnf = schemaToGbnf(schema, 'json-schema');
  parseGbnf(gbnf, 'json-schema');
  return gbnf;
}
