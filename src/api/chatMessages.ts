import { InvalidParamsError } from '../errors.ts';
import { templateRole } from '../tokenizer/chat.ts';
import type { ChatMessage } from './openai.ts';
import { isRecord, shown } from './paramChecks.ts';

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'];

/** Part types OpenAI defines that Folio's text-only models cannot read, named in the refusal. */
const NON_TEXT = new Set(['image_url', 'input_audio', 'file', 'refusal']);

/** A message's content as one string: a string as is, text parts joined without a separator. */
function contentText(v: unknown, at: string): string {
  if (typeof v === 'string') return v;
  // Worded as before content parts existed: a non-string is still "not a string" unless it is an array.
  if (!Array.isArray(v)) throw new InvalidParamsError(at, `must be a string, got ${shown(v)}`);
  return v
    .map((part: unknown, j) => {
      const type = isRecord(part) ? part.type : undefined;
      if (type !== 'text') {
        const why = typeof type === 'string' && NON_TEXT.has(type) ? `${type} parts are not supported: Folio runs text-only models` : `must be a {type: 'text', text} part, got ${shown(part)}`;
        throw new InvalidParamsError(`${at}[${j}].type`, why);
      }
      const text = (part as Record<string, unknown>).text;
      if (typeof text !== 'string') throw new InvalidParamsError(`${at}[${j}].text`, `must be a string, got ${shown(text)}`);
      return text;
    })
    .join('');
}

/**
 * Validates OpenAI-style chat messages into what the chat template renders: content as one
 * string, and `developer` turned into `system` (templates know only the older role).
 */
export function chatMessages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0) throw new InvalidParamsError('messages', 'must be a non-empty array of {role, content}');
  return v.map((m: unknown, i) => {
    const role = isRecord(m) ? m.role : undefined;
    if (typeof role !== 'string' || !ROLES.includes(role)) {
      throw new InvalidParamsError(`messages[${i}].role`, `must be system, developer, user, assistant or tool, got ${shown(role)}`);
    }
    const msg = m as Record<string, unknown>;
    if (role === 'tool') {
      if (typeof msg.tool_call_id !== 'string') throw new InvalidParamsError(`messages[${i}].tool_call_id`, `must be the id of the call this message answers, got ${shown(msg.tool_call_id)}`);
      return { role: 'tool', content: contentText(msg.content, `messages[${i}].content`), tool_call_id: msg.tool_call_id };
    }
    // An assistant turn that called tools: the calls as the model wrote them (src/api/tools.ts).
    if (role === 'assistant' && msg.tool_calls !== undefined && msg.tool_calls !== null && (msg.content === null || msg.content === undefined)) {
      return { role: 'assistant', content: toolCallsText(msg.tool_calls, `messages[${i}].tool_calls`) };
    }
    const content = contentText(msg.content, `messages[${i}].content`);
    return { role: templateRole(role) as Exclude<ChatMessage['role'], 'tool'>, content };
  });
}

/** Assistant tool calls as the text of the reply that made them: one {"name", "arguments"} object per call. */
function toolCallsText(v: unknown, at: string): string {
  if (!Array.isArray(v) || v.length === 0) throw new InvalidParamsError(at, `must be a non-empty array of calls, got ${shown(v)}`);
  return v
    .map((c: unknown, j) => {
      const f = isRecord(c) && isRecord(c.function) ? c.function : null;
      if (!f || typeof f.name !== 'string' || typeof f.arguments !== 'string') throw new InvalidParamsError(`${at}[${j}]`, `must be {id, type: 'function', function: {name, arguments}}, got ${shown(c)}`);
      let args: unknown;
      try {
        args = JSON.parse(f.arguments);
      } catch {
        throw new InvalidParamsError(`${at}[${j}].function.arguments`, 'must be a JSON string');
      }
      return JSON.stringify({ name: f.name, arguments: args });
    })
    .join('\n');
}
