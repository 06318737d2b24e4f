import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { reviveError } from '../api/errorTransfer.ts';
import { ModelFormatError } from '../errors.ts';
import type { GenerateRequest, GenerateResult } from './GenerateRequest.ts';
import type { GeneratePageWindow, PageOutcome } from './generatePage.ts';

/** Where the CLI's page server serves a local model folder (any folder, inside the repository or not). */
export const MODEL_ROUTE = '/__folio-model/';
/** Where it serves a local `--draft-model`'s folder. */
export const DRAFT_ROUTE = '/__folio-draft/';

/** A local model as the page server serves it: its folder, and the GGUF file in it if it is one; nulls for a URL. */
export interface LocalModel {
  folder: string | null;
  ggufFile: string | null;
}

/** Where `--model` lies on this machine, checked before a browser is started for it. */
export function localModel(model: string): LocalModel {
  if (/^(https?:\/\/|hf:)/i.test(model)) return { folder: null, ggufFile: null };
  const local = resolve(model);
  // A local .gguf file is served from its folder, like a Hugging Face folder's files.
  const ggufFile = /\.gguf$/i.test(local) ? basename(local) : null;
  const folder = ggufFile ? dirname(local) : local;
  if (ggufFile && !existsSync(local)) throw new ModelFormatError(ggufFile, `not found in folder ${folder}`);
  if (!ggufFile && !existsSync(join(folder, 'config.json'))) throw new ModelFormatError('config.json', `not found in folder ${folder}`);
  return { folder, ggufFile };
}

/**
 * Opens the generate page at `pageUrl`, runs the request in it and streams its text back
 * through a Playwright binding; the page's typed errors are rethrown with their class.
 */
export async function runGeneratePage(page: Page, pageUrl: string, req: GenerateRequest, model: LocalModel, onText?: (text: string) => void, draft?: LocalModel): Promise<GenerateResult & { adapter: string }> {
  await page.exposeFunction('folioCliText', (text: string) => onText?.(text));
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('404')) pageErrors.push(m.text());
  });
  await page.goto(pageUrl);
  try {
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 120_000 });
  } catch (e) {
    throw new Error(`the generate page did not start in Chromium (${(e as Error).message})${pageErrors.length ? `: ${pageErrors.join('; ')}` : ''}`);
  }
  const served = (m: LocalModel, route: string) => (m.ggufFile ? route + encodeURIComponent(m.ggufFile) : route.slice(0, -1));
  const pageReq: GenerateRequest = { ...req, model: model.folder ? served(model, MODEL_ROUTE) : req.model };
  if (draft?.folder) pageReq.draftModel = served(draft, DRAFT_ROUTE);
  const outcome: PageOutcome = await page.evaluate((r) => (window as unknown as GeneratePageWindow).folioGenerate(r), pageReq);
  if (!outcome.ok) throw reviveError(outcome.error);
  return { ...outcome.result, adapter: outcome.adapter };
}
