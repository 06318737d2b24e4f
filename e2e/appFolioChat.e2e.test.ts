// <folio-chat> as a person uses it (issue 19, item 13), from examples/script-tag's folio.js.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../src/browser/devServer.ts';
import { servePython } from './pythonServer.ts';
import { openPage, type PageSession } from './session.ts';

interface Chat extends HTMLElement {
  run(prompt: string): Promise<string>;
}

describe('<folio-chat>, as a person uses it', () => {
  let s: PageSession;
  beforeAll(async () => {
    const { url, proc } = await servePython(resolve(ROOT, 'examples/script-tag'));
    s = await openPage(url, async () => proc.kill());
    await s.page.waitForSelector('folio-chat[data-state=ready]', { timeout: 60_000 });
  });
  afterAll(async () => s?.close());

  it('story mode shows the prompt and its continuation exactly as generated, nothing put between', async () => {
    const { page } = s;
    const turn = await page.evaluate(async () => {
      const chat = document.querySelector('folio-chat') as Chat;
      chat.setAttribute('max-tokens', '12');
      const reply = await chat.run('Once upon a time');
      const last = chat.shadowRoot!.querySelector('.log')!.lastElementChild!;
      return { reply, text: last.textContent, user: last.querySelector('.user')!.textContent };
    });
    expect(turn.user).toBe('Once upon a time');
    expect(turn.reply.length).toBeGreaterThan(0);
    expect(turn.text).toBe(`Once upon a time${turn.reply}`);
  });

  it("the prompt box's hint follows the mode", async () => {
    const { page } = s;
    const placeholder = () => page.$eval('folio-chat', (c) => c.shadowRoot!.querySelector('textarea')!.placeholder);
    expect(await placeholder()).toBe('Once upon a time…');
    await page.$eval('folio-chat', (c) => c.setAttribute('mode', 'chat'));
    expect(await placeholder()).toBe('Say something…');
    await page.$eval('folio-chat', (c) => c.setAttribute('mode', 'story'));
    expect(await placeholder()).toBe('Once upon a time…');
  });

  it('the log stays scrolled to the newest turn', async () => {
    const { page } = s;
    const state = await page.evaluate(async () => {
      const chat = document.querySelector('folio-chat') as Chat;
      chat.setAttribute('max-tokens', '40');
      const log = chat.shadowRoot!.querySelector<HTMLElement>('.log')!;
      // Enough turns to overflow the log (its height is bounded), at most a few.
      for (let i = 0; i < 8 && log.scrollHeight <= log.clientHeight; i++) await chat.run('Once upon a time, there was a big dog.');
      await chat.run('Lily saw a bird.');
      return { overflowing: log.scrollHeight > log.clientHeight, gap: log.scrollHeight - log.scrollTop - log.clientHeight };
    });
    expect(state.overflowing).toBe(true);
    expect(state.gap).toBeLessThanOrEqual(1);
    expect(s.errors).toEqual([]);
  });
});
