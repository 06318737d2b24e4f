import { InvalidParamsError } from '../errors.ts';
import type { Grammar } from '../grammar/Grammar.ts';
import { parseGbnfCached } from '../grammar/gbnf.ts';
import { jsonObjectGbnf, schemaToGbnf } from '../grammar/jsonSchema.ts';
import { isBool, isRecord, isString, shown } from './paramChecks.ts';
import { toolCallGbnf, type ToolRequest } from './tools.ts';

/**
 * The grammar a request's output must follow, from `response_format` (json_object, json_schema),
 * Folio's `grammar` extension (GBNF), or a forced tool call; null when the output is free. At
 * most one of them: two constraints at once are refused.
 */
export function outputGrammar(p: Record<string, unknown>, tools: ToolRequest | null): Grammar | null {
  const sources: [string, string][] = [];
  const rf = p.response_format;
  if (rf !== undefined && rf !== null) {
    if (!isRecord(rf)) throw new InvalidParamsError('response_format', `must be an object, got ${shown(rf)}`);
    if (rf.type === 'json_object') sources.push(['response_format', jsonObjectGbnf()]);
    else if (rf.type === 'json_schema') {
      const js = rf.json_schema;
      if (!isRecord(js)) throw new InvalidParamsError('response_format.json_schema', 'must be {name, schema, strict}');
      if (!isString(js.name) || !/^[A-Za-z0-9_-]{1,64}$/.test(js.name)) throw new InvalidParamsError('response_format.json_schema.name', `must be 1 to 64 letters, digits, _ or -, got ${shown(js.name)}`);
      if (js.strict !== undefined && js.strict !== null && !isBool(js.strict)) throw new InvalidParamsError('response_format.json_schema.strict', 'must be a boolean');
      if (js.description !== undefined && !isString(js.description)) throw new InvalidParamsError('response_format.json_schema.description', 'must be a string');
      // strict or not, the output follows the schema: constrained decoding has no looser mode.
      sources.push(['response_format', schemaToGbnf(js.schema ?? { type: 'object' })]);
    } else if (rf.type !== 'text') {
      throw new InvalidParamsError('response_format.type', `must be 'text', 'json_object' or 'json_schema', got ${shown(rf.type)}`);
    }
  }
  if (p.grammar !== undefined && p.grammar !== null) {
    if (!isString(p.grammar)) throw new InvalidParamsError('grammar', 'must be a GBNF string');
    sources.push(['grammar', p.grammar]);
  }
  if (tools?.mode === 'forced') sources.push(['tool_choice', toolCallGbnf(tools)]);
  if (sources.length > 1) throw new InvalidParamsError(sources[1][0], `cannot be combined with ${sources[0][0]}: a reply follows one grammar`);
  if (sources.length === 0) return null;
  const [param, gbnf] = sources[0];
  return parseGbnfCached(gbnf, param);
}
