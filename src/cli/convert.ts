import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { convertLlama2c } from '../model/llama2c/convert.ts';

export async function convertCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { checkpoint: { type: 'string' }, tokenizer: { type: 'string' }, out: { type: 'string' } },
  });
  if (!values.checkpoint || !values.tokenizer || !values.out) {
    process.stderr.write('folio convert needs --checkpoint, --tokenizer and --out\n');
    return 1;
  }
  const files = convertLlama2c(await readFile(values.checkpoint), await readFile(values.tokenizer), {
    checkpoint: basename(values.checkpoint),
    tokenizer: basename(values.tokenizer),
  });
  await mkdir(values.out, { recursive: true });
  for (const [name, bytes] of files) await writeFile(join(values.out, name), bytes);
  process.stdout.write(`wrote ${[...files.keys()].join(', ')} to ${values.out}\n`);
  return 0;
}
