import { parseArgs } from 'node:util';
import { InvalidParamsError } from '../errors.ts';
import type { CompletionCreateParams } from '../api/openai.ts';
import { RemoteEngine } from '../remote/RemoteEngine.ts';
import { resolveEndpoint } from '../remote/RemoteEndpoint.ts';
import { checkServed, servedModels } from '../remote/servedModels.ts';
import { numberOption, PROMPT_OPTIONS } from './promptOptions.ts';

/**
 * `folio generate --remote URL`: the same prompt and sampling options, answered by an
 * OpenAI-compatible server (vLLM) through Folio's remote engine. `--model` names the served
 * model (the server's first by default); the key comes from `--api-key` or FOLIO_API_KEY.
 * Options of a local load (--backend, --weights, --kv-*, ...) are refused by parseArgs.
 */
export async function generateRemoteCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      remote: { type: 'string' },
      'api-key': { type: 'string' },
      ...PROMPT_OPTIONS,
    },
  });
  const apiKey = values['api-key'] ?? (process.env.FOLIO_API_KEY || undefined);
  const baseURL = values.remote ?? '';
  let model = values.model;
  if (model === undefined) {
    const served = await servedModels(resolveEndpoint({ baseURL, apiKey, model: '-' }));
    if (!served?.length) throw new InvalidParamsError('model', `${baseURL} lists no models: give --model`);
    model = served[0];
  }
  const endpoint = { baseURL, apiKey, model };
  await checkServed(resolveEndpoint(endpoint));
  const engine = new RemoteEngine(endpoint);
  const params: CompletionCreateParams = {
    prompt: values.prompt ?? '',
    max_tokens: numberOption('max-tokens', values['max-tokens']),
    temperature: numberOption('temperature', values.temperature),
    top_p: numberOption('top-p', values['top-p']),
    top_k: numberOption('top-k', values['top-k']),
    seed: numberOption('seed', values.seed),
  };
  let completion = '';
  let usage = null;
  if (!values.json) process.stdout.write(params.prompt);
  try {
    for await (const chunk of await engine.completions.create({ ...params, stream: true, stream_options: { include_usage: true } })) {
      const text = chunk.choices[0]?.text ?? '';
      completion += text;
      if (!values.json) process.stdout.write(text);
      usage = chunk.usage ?? usage;
    }
  } finally {
    engine.dispose();
  }
  process.stdout.write(values.json ? JSON.stringify({ model, text: params.prompt + completion, completion, usage }) + '\n' : '\n');
  return 0;
}
