import { parseArgs } from 'node:util';
import { InvalidParamsError } from '../errors.ts';
import { defaultModelPath } from './defaultModel.ts';
import { weightsChoice } from '../quant/quantizeModel.ts';
import { samplingParams } from '../sampling/SamplingParams.ts';
import { generateOnCpu } from './generateOnCpu.ts';
import { generateRemoteCommand } from './generateRemote.ts';
import { kvOptions } from './kvOptions.ts';
import { kernelsOption } from '../gpu/kernelSet.ts';
import { cpuKernelsOption } from '../cpu/cpuKernels.ts';
import { constraintOption } from './constraintOption.ts';
import type { GenerateRequest, GenerateResult } from './GenerateRequest.ts';
import { numberOption, PROMPT_OPTIONS } from './promptOptions.ts';
import { speculativeOption } from './speculativeOption.ts';
import { draftModelOption } from './draftModelOption.ts';

export async function generateCommand(argv: string[]): Promise<number> {
  // A server instead of a local model: its own options (local-only ones are refused there by name).
  if (argv.some((a) => a === '--remote' || a.startsWith('--remote='))) return generateRemoteCommand(argv);
  const { values } = parseArgs({
    args: argv,
    options: {
      ...PROMPT_OPTIONS,
      backend: { type: 'string', default: 'webgpu' },
      weights: { type: 'string', default: 'f32' },
      kernels: { type: 'string' },
      'cpu-kernels': { type: 'string' },
      'no-bos': { type: 'boolean', default: false },
      'ignore-eos': { type: 'boolean', default: false },
      'kv-budget': { type: 'string' },
      'kv-policy': { type: 'string' },
      'context-shift': { type: 'boolean', default: false },
      'json-schema': { type: 'string' },
      grammar: { type: 'string' },
      speculative: { type: 'string' },
      'speculative-k': { type: 'string' },
      'draft-model': { type: 'string' },
      'draft-weights': { type: 'string' },
    },
  });
  const req: GenerateRequest = {
    model: values.model ?? defaultModelPath(),
    prompt: values.prompt ?? '',
    addBos: !values['no-bos'],
    ignoreEos: values['ignore-eos'],
    weights: weightsChoice(values.weights),
    kernels: kernelsOption(values.kernels),
    cpuKernels: cpuKernelsOption(values['cpu-kernels']),
    maxTokens: numberOption('max-tokens', values['max-tokens'])!,
    sampling: {
      temperature: numberOption('temperature', values.temperature),
      topP: numberOption('top-p', values['top-p']),
      topK: numberOption('top-k', values['top-k']),
      seed: numberOption('seed', values.seed) ?? null,
    },
  };
  if (!Number.isInteger(req.maxTokens) || req.maxTokens < 1) throw new InvalidParamsError('max-tokens', 'must be an integer >= 1');
  req.kv = kvOptions(values['kv-budget'], values['kv-policy'], values['context-shift']);
  samplingParams(req.sampling); // refuse bad parameters before loading anything
  req.grammar = await constraintOption(values['json-schema'], values.grammar);
  if (req.grammar && req.kv) throw new InvalidParamsError('grammar', 'cannot be combined with --kv-budget or --context-shift');
  Object.assign(req, draftModelOption(values['draft-model'], values['draft-weights'], values.speculative));
  req.speculative = speculativeOption(values.speculative, values['speculative-k'], req);
  const onText = values.json ? undefined : (t: string) => process.stdout.write(t);
  let result: GenerateResult;
  switch (values.backend) {
    case 'cpu':
      if (values.kernels !== undefined) throw new InvalidParamsError('kernels', 'chooses WebGPU kernels; --backend cpu has none');
      result = await generateOnCpu(req, onText);
      break;
    case 'webgpu': {
      if (values['cpu-kernels'] !== undefined) throw new InvalidParamsError('cpu-kernels', "chooses the CPU backend's kernels; --backend webgpu has none");
      // In headless Chromium: WebGPU is a browser API (Dawn is only a test dependency). Loaded
      // lazily: Vite and Playwright are not needed on the CPU path.
      const { generateInBrowser } = await import('./generateInBrowser.ts');
      result = await generateInBrowser(req, onText);
      break;
    }
    default:
      throw new InvalidParamsError('backend', `must be cpu or webgpu, got ${JSON.stringify(values.backend)}`);
  }
  if (values.json) {
    process.stdout.write(
      JSON.stringify({ prompt_ids: result.promptIds, generated_ids: result.generatedIds, text: result.text, completion: result.completion, ...(result.kv ? { kv: result.kv } : {}), ...(result.speculative ? { speculative: result.speculative } : {}) }) + '\n',
    );
  } else {
    process.stdout.write('\n');
  }
  return 0;
}
