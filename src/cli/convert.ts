import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { convertLlama2c } from '../model/llama2c/convert.ts';
import { onPath } from './fileErrors.ts';

export async function convertCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { checkpoint: { type: 'string' }, tokenizer: { type: 'string' }, out: { type: 'string' } },
  });
  const { checkpoint, tokenizer, out } = values;
  if (!checkpoint || !tokenizer || !out) {
    process.stderr.write('folio convert needs --checkpoint, --tokenizer and --out\n');
    return 1;
  }
  const files = convertLlama2c(
    await onPath('checkpoint', checkpoint, () => readFile(checkpoint)),
    await onPath('tokenizer', tokenizer, () => readFile(tokenizer)),
    { checkpoint: basename(checkpoint), tokenizer: basename(tokenizer) },
  );
  await onPath('out', out, () => mkdir(out, { recursive: true }));
  for (const [name, bytes] of files) {
    const path = join(out, name);
    await onPath('out', path, () => writeFile(path, bytes));
  }
  process.stdout.write(`wrote ${[...files.keys()].join(', ')} to ${out}\n`);
  return 0;
}
