import { isRecord } from '../api/paramChecks.ts';
import { type FolioError, InvalidParamsError } from '../errors.ts';

/**
 * A server's streamed tool calls (OpenAI's `delta.tool_calls`: the call's id, type and name
 * first, then its `arguments` JSON in pieces), gathered per choice and handed to Folio's API
 * layer as the text it reads a call from: `{"name": ..., "arguments": {...}}` (src/api/tools.ts).
 * Folio's responses carry one call per choice; a server that makes several in one choice is
 * refused by name (`parallel_tool_calls: false` asks it not to).
 */
export class ToolCallDeltas {
  private readonly calls = new Map<number, Map<number, { name: string; args: string }>>();

  constructor(private readonly malformed: (what: string) => FolioError) {}

  read(choice: number, deltas: unknown[]): void {
    const calls = this.calls.get(choice) ?? new Map<number, { name: string; args: string }>();
    this.calls.set(choice, calls);
    for (const d of deltas) {
      if (!isRecord(d) || !Number.isInteger(d.index)) throw this.malformed('a tool call delta without an index');
      const call = calls.get(d.index as number) ?? { name: '', args: '' };
      calls.set(d.index as number, call);
      const f = isRecord(d.function) ? d.function : {};
      if (typeof f.name === 'string') call.name += f.name;
      if (typeof f.arguments === 'string') call.args += f.arguments;
    }
  }

  /** The call of `choice` as text, or null when it made none. `content`: the text it streamed besides. */
  text(choice: number, content: string): string | null {
    const calls = [...(this.calls.get(choice)?.values() ?? [])];
    if (calls.length === 0) return null;
    if (calls.length > 1) throw new InvalidParamsError('parallel_tool_calls', `the server made ${calls.length} tool calls in choice ${choice}; Folio returns one per choice: set parallel_tool_calls: false`);
    if (content.trim() !== '') throw new InvalidParamsError('tools', `the server answered choice ${choice} with text and a tool call; Folio returns one or the other`);
    const [{ name, args }] = calls;
    let parsed: unknown;
    try {
      parsed = JSON.parse(args || '{}');
    } catch {
      throw this.malformed(`tool call arguments that are not JSON: ${JSON.stringify(args.slice(0, 80))}`);
    }
    return JSON.stringify({ name, arguments: parsed });
  }
}
