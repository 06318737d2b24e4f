import { FolioError } from '../errors.ts';
import { convertCommand } from './convert.ts';
import { generateCommand } from './generate.ts';

const USAGE = `folio — an in-tab LLM runtime, from the command line

  folio convert --checkpoint <model.bin> --tokenizer <tokenizer.bin> --out <dir>
      convert a llama2.c checkpoint to a Hugging Face model folder

  folio generate [--model <dir|url|file.gguf>] --prompt "..." [--max-tokens N]
                 [--temperature T] [--top-p P] [--top-k K] [--seed S]
                 [--backend webgpu|cpu] [--weights f32|f16|q8_0|q4_0|q4_k|auto]
                 [--kernels auto|gpu|fallback] [--cpu-kernels wasm|js]
                 [--no-bos] [--ignore-eos] [--json] [--json-schema FILE | --grammar FILE]
                 [--kv-budget N [--kv-policy paged-eviction|window]] [--context-shift]
                 [--speculative ngram [--speculative-k N]]
                 [--speculative draft --draft-model <dir|url|file.gguf> [--draft-weights F]]
      generate text; --json prints {prompt_ids, generated_ids, text, completion}.
      --kv-budget holds at most N tokens of KV (plus the block being filled), evicting
      blocks (paged-eviction: lowest ||V||/||K||; window: StreamingLLM), and shifts the
      context at the model's limit, so --max-tokens may pass it (--json adds kv: peak, evicted);
      --context-shift alone shifts at the limit, dropping half of the old blocks.
      --json-schema / --grammar constrain the continuation to JSON valid under a schema,
      or to a GBNF grammar (llama.cpp's notation); EOS only where it may end.
      --model also takes a GGUF file, URL or hf:org/name@rev/file.gguf;
      --ignore-eos generates all --max-tokens tokens (as reference runs do);
      --weights quantizes a safetensors model's 2-D weights on load, as llama.cpp's
      quantizer would (auto: by the adapter's limits; a GGUF file keeps its own formats);
      --kernels picks WebGPU's kernel set (auto: fallback on a CPU adapter, else gpu);
      --cpu-kernels picks the CPU backend's: WebAssembly SIMD (default) or the TypeScript reference.
      --speculative ngram drafts up to N tokens (4 by default) by prompt lookup and verifies them
      in one forward each: the same output, fewer forwards (--json adds speculative: counts);
      --draft-model drafts with a second model sharing the model's tokenizer (a smaller one, or the
      same model with --draft-weights q4_0|f16), on its own backend and KV; --json adds the counts;
      webgpu (the default) runs in headless Chromium (/usr/bin/chromium, or FOLIO_CHROMIUM);
      cpu runs the CPU backend in Node

  folio generate --remote <http://host:8000/v1> [--model <served name>] [--api-key K]
                 --prompt "..." [--max-tokens N] [--temperature T] [--top-p P] [--top-k K]
                 [--seed S] [--json]
      the same, answered by an OpenAI-compatible server (vLLM); --model defaults to the
      server's first model, the key to FOLIO_API_KEY; --json prints {model, text, completion, usage}
`;

/** Runs one CLI command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'convert':
        return await convertCommand(rest);
      case 'generate':
        return await generateCommand(rest);
      case undefined:
      case 'help':
      case '--help':
        process.stdout.write(USAGE);
        return command === undefined ? 1 : 0;
      default:
        process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 1;
    }
  } catch (e) {
    // Typed errors are written for people: print the message alone, not a stack.
    if (e instanceof FolioError) {
      process.stderr.write(`folio: ${e.name}: ${e.message}\n`);
      return 2;
    }
    // node:util parseArgs errors (unknown option, missing value) are usage errors, not crashes.
    if (e instanceof Error && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`folio: ${e.message}\n\n${USAGE}`);
      return 1;
    }
    // A system error (file system, network) that escaped a command: its message says what and
    // where; its stack says nothing to a user.
    if (e instanceof Error && typeof (e as NodeJS.ErrnoException).syscall === 'string') {
      process.stderr.write(`folio: ${e.name}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
