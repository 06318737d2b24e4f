// folio.js under a Content Security Policy sent as a real header: the strictest policy it works
// under, the same with Trusted Types required, and policies that block it, which must reject
// with a ContentSecurityPolicyError naming what to allow (not hang, not WebGpuUnavailableError).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, normalize, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chromium, launchChromium } from '../../src/browser/chromium.ts';
import { ROOT } from '../paths.ts';

/** The policy README.md documents: nothing but what Folio needs. */
const STRICT = "default-src 'none'; script-src 'self'; worker-src blob:; connect-src 'self'";
const POLICIES: Record<string, string> = {
  strict: STRICT,
  'trusted-types': `${STRICT}; require-trusted-types-for 'script'; trusted-types folio`,
  'no-blob-worker': "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'",
  // No worker-src: workers fall back to script-src, which lacks blob:.
  'no-worker-src': "default-src 'none'; script-src 'self'; connect-src 'self'",
  'tt-without-folio': `${STRICT}; require-trusted-types-for 'script'; trusted-types other`,
};

// A page with no inline script or style: page.js records every CSP violation.
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><script src="page.js"></script><script src="folio.js"></script></head>
<body><folio-chat model="./models/stories260K" backend="cpu" max-tokens="8" temperature="0"></folio-chat></body></html>`;
// The favicon is the browser's request, not Folio's: img-src is not Folio's to need.
const PAGE_JS = `window.violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  if (e.effectiveDirective !== 'img-src') window.violations.push(e.effectiveDirective + ' ' + e.blockedURI);
});`;

const EXAMPLE = resolve(ROOT, 'examples/script-tag');

/** /<policy>/... serves the page, page.js and examples/script-tag's files under that policy. */
async function serve(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const [, policy, ...rest] = new URL(req.url ?? '/', 'http://x').pathname.split('/');
    const path = rest.join('/');
    const headers = { 'content-security-policy': POLICIES[policy] ?? STRICT };
    if (path === '' || path === 'page.js') {
      return void res.writeHead(200, { ...headers, 'content-type': path ? 'text/javascript' : 'text/html' }).end(path ? PAGE_JS : PAGE);
    }
    const file = normalize(join(EXAMPLE, path));
    if (!file.startsWith(EXAMPLE) || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404, headers).end();
    res.writeHead(200, { ...headers, 'content-type': file.endsWith('.js') ? 'text/javascript' : 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://localhost:${(server.address() as { port: number }).port}`, server };
}

type FolioGlobal = { createEngine(o: object): Promise<{ completions: { create(p: object): Promise<{ choices: { text: string }[] }> }; dispose(): void }> };
declare const Folio: FolioGlobal;
declare const violations: string[];

describe('folio.js under a Content Security Policy header (Chromium)', () => {
  let chromium: Chromium;
  let site: { url: string; server: Server };
  beforeAll(async () => {
    site = await serve();
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await new Promise((ok) => site?.server.close(ok));
  });

  async function open(policy: string) {
    const page = await chromium.context.newPage();
    await page.goto(`${site.url}/${policy}/`);
    return page;
  }

  for (const policy of ['strict', 'trusted-types']) {
    it(`${policy}: <folio-chat> is styled and generates, the API generates, and nothing is blocked`, async () => {
      const page = await open(policy);
      await page.waitForSelector('folio-chat[data-state=ready]', { timeout: 60_000 });
      const r = await page.evaluate(async () => {
        const chat = document.querySelector('folio-chat') as HTMLElement & { run(p: string): Promise<string> };
        const story = await chat.run('Once upon a time');
        const log = chat.shadowRoot!.querySelector('.log')!;
        const engine = await Folio.createEngine({ model: './models/stories260K', backend: 'cpu' });
        const out = await engine.completions.create({ prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
        engine.dispose();
        return { story, styled: getComputedStyle(log).overflowY, api: out.choices[0].text, violations };
      });
      expect(r.story.length).toBeGreaterThan(0);
      expect(r.api.length).toBeGreaterThan(0);
      expect(r.styled).toBe('auto');
      expect(r.violations).toEqual([]);
      await page.close();
    });
  }

  for (const policy of ['no-blob-worker', 'no-worker-src']) {
    it(`${policy}: createEngine rejects with ContentSecurityPolicyError naming worker-src blob:`, async () => {
      const page = await open(policy);
      await page.waitForSelector('folio-chat[data-state=error]', { timeout: 30_000 });
      const r = await page.evaluate(async () =>
        Folio.createEngine({ model: './models/stories260K', backend: 'cpu' }).then(
          () => null,
          (e: Error & { code: string; directive: string }) => ({ name: e.name, code: e.code, directive: e.directive, message: e.message }),
        ),
      );
      expect(r).toMatchObject({ name: 'ContentSecurityPolicyError', code: 'CSP_BLOCKED', directive: 'worker-src' });
      expect(r!.message).toContain('worker-src blob:');
      expect(await page.locator('folio-chat .status').innerText()).toContain('worker-src blob:');
      await page.close();
    });
  }

  it('Trusted Types that do not allow the folio policy: ContentSecurityPolicyError naming trusted-types folio', async () => {
    const page = await open('tt-without-folio');
    const r = await page.evaluate(async () =>
      Folio.createEngine({ model: './models/stories260K', backend: 'cpu' }).then(
        () => null,
        (e: Error & { code: string; directive: string }) => ({ name: e.name, code: e.code, directive: e.directive, message: e.message }),
      ),
    );
    expect(r).toMatchObject({ name: 'ContentSecurityPolicyError', code: 'CSP_BLOCKED', directive: 'trusted-types' });
    expect(r!.message).toContain('trusted-types folio');
    await page.close();
  });
});
