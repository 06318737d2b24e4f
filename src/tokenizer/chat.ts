/** One turn of a conversation, OpenAI-style. */
export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | (string & {});
  content: string;
}

export interface ChatTemplateOptions {
  /** End with the cue for the assistant's reply. */
  addGenerationPrompt?: boolean;
  /**
   * OpenAI-shaped tool definitions, given to a chat template as its `tools` variable (as
   * Hugging Face's apply_chat_template does). Only for templates that render them (see
   * Tokenizer.templateRendersTools).
   */
  tools?: readonly unknown[];
}

/**
 * The role a chat template is given. `developer` is OpenAI's newer name for `system` (o1 and
 * later); models' chat templates only know `system`, and some raise on any other role.
 */
export function templateRole(role: string): string {
  return role === 'developer' ? 'system' : role;
}

/**
 * The format Folio uses for a model that ships no chat_template (base models such as
 * stories260K): one line per message, "Role: content", roles capitalised, and with
 * addGenerationPrompt a last line "Assistant:" for the model to continue.
 */
export const PLAIN_CHAT_FORMAT = 'System: ...\nUser: ...\nAssistant: ...\nAssistant:';

export function formatPlainChat(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
  const lines = messages.map((m) => `${capitalise(templateRole(m.role))}: ${m.content}`);
  if (options.addGenerationPrompt) lines.push('Assistant:');
  return lines.join('\n');
}

function capitalise(role: string): string {
  return role.charAt(0).toUpperCase() + role.slice(1);
}
