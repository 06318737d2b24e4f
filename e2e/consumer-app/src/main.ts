// A new user's first Folio page: the package imported by name, nothing configured in Vite.
// The query string says what to generate (e2e/package.e2e.test.ts sets it); #out gets the text.
import { createEngine, FolioError } from 'folio';

const out = document.querySelector<HTMLPreElement>('#out')!;
const query = new URLSearchParams(location.search);

async function main(): Promise<void> {
  const engine = await createEngine({ model: './models/stories260K' });
  const prompt = query.get('prompt') ?? 'Once upon a time';
  const completion = await engine.completions.create({ prompt, max_tokens: Number(query.get('max_tokens') ?? '50'), temperature: 0 });
  out.textContent = prompt + (completion.choices[0]?.text ?? '');
  out.dataset.backend = engine.info.backend;
  out.dataset.done = 'true';
  engine.dispose();
}

main().catch((e: unknown) => {
  out.dataset.error = e instanceof FolioError ? `${e.name} (${e.code}): ${e.message}` : String(e);
});
