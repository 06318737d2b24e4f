import { resolve } from 'node:path';
import type { Page } from 'playwright-core';

/** The two sizes every state is photographed at: a laptop, and a phone held upright. */
export const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;

/**
 * Saves `demo-output/folio-<state>-<width>x<height>.png` at each viewport, then goes back to the
 * first. On the phone, `focus` is scrolled into view first (there the header and the first pane
 * fill the screen; on the laptop everything that matters is in view from the top).
 * The page keeps running meanwhile: a state that moves (streaming) is caught as it is.
 */
export async function shoot(page: Page, dir: string, state: string, focus?: string): Promise<string[]> {
  const paths: string[] = [];
  for (const v of VIEWPORTS) {
    await page.setViewportSize({ width: v.width, height: v.height });
    await page.evaluate(async (sel) => {
      (document.activeElement as HTMLElement | null)?.blur(); // no focus ring left by the script's typing
      const el = sel ? document.querySelector(sel) : null;
      window.scrollTo(0, el ? el.getBoundingClientRect().top + window.scrollY - 8 : 0);
      // One frame for the new size's layout to be painted.
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    }, v.name === 'phone' ? (focus ?? null) : null);
    const path = resolve(dir, `folio-${state}-${v.width}x${v.height}.png`);
    await page.screenshot({ path });
    paths.push(path);
  }
  await page.setViewportSize({ width: VIEWPORTS[0].width, height: VIEWPORTS[0].height });
  return paths;
}
