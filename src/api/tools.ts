import { InvalidParamsError } from '../errors.ts';
import { schemaToGbnf } from '../grammar/jsonSchema.ts';
import { literal } from '../grammar/gbnfText.ts';
import type { Tokenizer } from '../tokenizer/Tokenizer.ts';
import type { ChatMessage } from './openai.ts';
import { isRecord, isString, shown } from './paramChecks.ts';

/** A function the model may call (OpenAI's `tools[].function`). */
export interface ToolFunction {
  name: string;
  description?: string;
  /** A JSON schema for the arguments object; absent: any object. */
  parameters?: Record<string, unknown>;
}

export interface ToolDefinition {
  type: 'function';
  function: ToolFunction;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** The validated tools of a request and what the model must do with them. */
export interface ToolRequest {
  tools: ToolFunction[];
  /** 'forced': the reply must be a call (`required`, or `name` given); 'auto': it may be. */
  mode: 'auto' | 'forced';
  /** With a named tool_choice, the one function it must call. */
  only: string | null;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Validates `tools` and `tool_choice`; null when the reply cannot be a call (no tools, or
 * tool_choice 'none').
 */
export function toolRequest(p: Record<string, unknown>): ToolRequest | null {
  const raw = p.tools;
  const choice = p.tool_choice ?? null;
  if (raw === undefined || raw === null) {
    if (choice !== null && choice !== 'none') throw new InvalidParamsError('tool_choice', 'needs tools');
    return null;
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new InvalidParamsError('tools', `must be a non-empty array of {type: 'function', function}, got ${shown(raw)}`);
  const tools = raw.map((t: unknown, i): ToolFunction => {
    if (!isRecord(t) || t.type !== 'function' || !isRecord(t.function)) throw new InvalidParamsError(`tools[${i}]`, `must be {type: 'function', function: {name, parameters}}, got ${shown(t)}`);
    const f = t.function;
    if (!isString(f.name) || !NAME.test(f.name)) throw new InvalidParamsError(`tools[${i}].function.name`, `must be 1 to 64 letters, digits, _ or -, got ${shown(f.name)}`);
    if (f.description !== undefined && !isString(f.description)) throw new InvalidParamsError(`tools[${i}].function.description`, 'must be a string');
    if (f.parameters !== undefined && !isRecord(f.parameters)) throw new InvalidParamsError(`tools[${i}].function.parameters`, 'must be a JSON schema object');
    return { name: f.name, description: f.description as string | undefined, parameters: f.parameters as Record<string, unknown> | undefined };
  });
  if (new Set(tools.map((t) => t.name)).size !== tools.length) throw new InvalidParamsError('tools', 'function names must be distinct');
  if (choice === 'none') return null;
  if (choice === null || choice === 'auto') return { tools, mode: 'auto', only: null };
  if (choice === 'required') return { tools, mode: 'forced', only: null };
  if (isRecord(choice) && choice.type === 'function' && isRecord(choice.function) && isString(choice.function.name)) {
    const name = choice.function.name;
    if (!tools.some((t) => t.name === name)) throw new InvalidParamsError('tool_choice', `names ${name}, which is not among tools`);
    return { tools, mode: 'forced', only: name };
  }
  throw new InvalidParamsError('tool_choice', `must be 'auto', 'none', 'required' or {type: 'function', function: {name}}, got ${shown(choice)}`);
}

/**
 * Folio's default rendering of tools, for chat templates that do not render them: a system
 * message that lists the functions with their JSON schemas and asks for a call as one JSON
 * object {"name": ..., "arguments": {...}}. Merged into a leading system message if there is one.
 */
export function withToolPrompt(messages: ChatMessage[], t: ToolRequest): ChatMessage[] {
  const list = t.tools.map((f) => JSON.stringify({ name: f.name, ...(f.description ? { description: f.description } : {}), parameters: f.parameters ?? { type: 'object' } })).join('\n');
  const must = t.only ? `You must call the function ${t.only}.` : t.mode === 'forced' ? 'You must call one of them.' : 'You may call one of them.';
  const prompt = `You have these functions:\n${list}\n${must} To call a function, reply with only a JSON object {"name": <function name>, "arguments": <arguments object>}.`;
  if (messages[0]?.role === 'system') return [{ role: 'system', content: `${messages[0].content}\n\n${prompt}` }, ...messages.slice(1)];
  return [{ role: 'system', content: prompt }, ...messages];
}

/** A chat prompt: its messages, and the tools the reply may call. */
export interface ToolChat {
  messages: ChatMessage[];
  tools?: ToolRequest;
}

/**
 * A chat prompt's ids. The model's chat template renders the tools where it can (its `tools`
 * variable, as in Hugging Face's apply_chat_template); else Folio's default system message
 * (withToolPrompt) lists them. Either way a forced call is held to toolCallGbnf's shape.
 */
export function encodeToolChat(tokenizer: Tokenizer, chat: ToolChat, generation: boolean): number[] {
  const t = chat.tools;
  if (!t) return tokenizer.encodeChat(chat.messages, { addGenerationPrompt: generation });
  if (tokenizer.templateRendersTools) {
    const tools = t.tools.map((f) => ({ type: 'function', function: f }));
    return tokenizer.encodeChat(chat.messages, { addGenerationPrompt: generation, tools });
  }
  return tokenizer.encodeChat(withToolPrompt(chat.messages, t), { addGenerationPrompt: generation });
}

/** GBNF for a forced call: {"name":"<fn>","arguments":<its parameters>} for the allowed functions. */
export function toolCallGbnf(t: ToolRequest): string {
  const fns = t.tools.filter((f) => t.only === null || f.name === t.only);
  const rules: string[] = [];
  const alts = fns.map((f, i) => {
    const args = schemaToGbnf(f.parameters ?? { type: 'object' }, `tools[${t.tools.indexOf(f)}].function.parameters`)
      .split('\n')
      .map((line) => line.replace(/^root ::=/, `args${i} ::=`).replace(/\b(s\d+)\b/g, `t${i}$1`));
    // The shared JSON rules come once.
    rules.push(...args.filter((l) => !l.startsWith('json-') || i === 0));
    return `${literal(`{"name":${JSON.stringify(f.name)},"arguments":`)} args${i} "}"`;
  });
  return [`root ::= ${alts.join(' | ')}`, ...rules].join('\n');
}

let calls = 0;

/**
 * The wrapper of the Hermes tool-call format, which the templates that render tools (Qwen2.5,
 * SmolLM3, Hermes) teach their models: `<tool_call>{"name": ..., "arguments": ...}</tool_call>`.
 */
const HERMES_CALL = /^\s*<tool_call>\s*([\s\S]*?)\s*<\/tool_call>\s*$/;

/** The call a reply holds when it is one JSON object {name, arguments} naming a known function; else null. */
export function parseToolCall(text: string, t: ToolRequest): ToolCall | null {
  let v: unknown;
  try {
    v = JSON.parse(HERMES_CALL.exec(text)?.[1] ?? text);
  } catch {
    return null;
  }
  if (!isRecord(v) || !isString(v.name) || !t.tools.some((f) => f.name === v.name) || !isRecord(v.arguments)) return null;
  return { id: `call_${Date.now().toString(36)}${(calls++).toString(36)}`, type: 'function', function: { name: v.name, arguments: JSON.stringify(v.arguments) } };
}
