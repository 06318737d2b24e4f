import type { Page } from 'playwright-core';

const pane = (i: number) => `.pane[data-pane="${i}"]`;

/** What a person might say to a storyteller, over and over. */
const LINES = [
  'Tell me about a cat.', 'What did the cat eat?', 'Where did it go?', 'Who did it meet?', 'Were they friends?',
  'What did they play?', 'Was it fun?', 'What happened next?', 'Did it rain?', 'How did the day end?',
];

/**
 * A long chat in one pane: `turns` questions, each sent when the last answer is done, with
 * short answers. A 30-turn chat outgrows stories260K's 512-token context; the pane leaves the
 * oldest turns out and says so. Returns a line about it.
 */
export async function chatTurns(page: Page, index: number, turns: number): Promise<string> {
  const t0 = Date.now();
  await page.fill('input[name=max_tokens]', '10');
  await page.fill('input[name=seed]', ''); // a new answer each turn, not the same draw
  await page.selectOption(`${pane(index)} select.mode`, 'chat');
  // Typed and sent inside the page, as the person would, without a round trip per turn.
  await page.evaluate(async ({ index, turns, lines }) => {
    const p = window.folioApp.panes[index];
    for (let i = 0; i < turns; i++) {
      p.input.value = lines[i % lines.length];
      await p.run();
    }
  }, { index, turns, lines: LINES });
  const { done, left, note } = await page.$eval(pane(index), (p) => ({
    done: p.querySelectorAll('.log > .turn[data-finish]:not([data-finish=error])').length,
    left: p.querySelectorAll('.turn.left-out').length,
    note: [...p.querySelectorAll('.note.context')].at(-1)?.textContent ?? '',
  }));
  return `${done} of ${turns} turns answered in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${left} left out of the context. ${note}`;
}

/** A story prompt longer than the model's context: the pane shows the engine's error. */
export async function tooLongStory(page: Page, index: number): Promise<string> {
  await page.selectOption(`${pane(index)} select.mode`, 'story');
  const story = 'Once upon a time, there was a little girl named Lily. She loved to play in the park with her friends. One day, she saw a big red ball under a tree. ';
  await page.fill(`${pane(index)} textarea`, story.repeat(12));
  await page.click(`${pane(index)} .send`);
  await page.waitForSelector(`${pane(index)}[data-state=idle] .log > .turn:last-child[data-finish]`, { timeout: 60_000 });
  return `pane ${index + 1}: ${await page.innerText(`${pane(index)} .log > .turn:last-child .error`).catch(() => 'no error')}`;
}

/** Loads a model that is not there: the picker says so, and the loaded model stays in use. */
export async function failedLoad(page: Page, url: string): Promise<string> {
  await page.selectOption('select[name=model]', '__custom__');
  await page.fill('input[name=url]', url);
  await page.click('.model-picker button[type=submit]');
  await page.waitForSelector('form.model-picker[data-last-load]:not([data-state=loading])', { timeout: 60_000 });
  return page.innerText('.model-picker .status');
}
