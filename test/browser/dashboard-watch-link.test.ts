import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { userClient } from '../helpers/clients.js';
import { type TestServer, tokenFor } from '../helpers/server.js';
import { dashboardBrowser, row, signIn } from './dashboard-page.js';

const { serve, openPage } = dashboardBrowser();

/** The dashboard signed in as alice, with the details panel of `id` open. */
async function detailsOf(server: TestServer, id: string): Promise<Page> {
  const page = await openPage(server);
  await signIn(page, tokenFor('alice'));
  await row(page, id, 'RUNNING').waitFor();
  await row(page, id)
    .getByRole('link', { name: /^Details of demo\.sleep / })
    .click();
  await page.getByRole('dialog', { name: /^Details of demo\.sleep / }).waitFor();
  return page;
}

const copyButton = (page: Page) => page.getByRole('button', { name: /^Copy watch link of / });

describe('the details panel: Copy watch link', () => {
  it('puts a read-only link on the clipboard that opens the watch page of this operation', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 60_000, steps: 60 } });
    const page = await detailsOf(server, op.id);
    await page
      .context()
      .grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.origin });

    await copyButton(page).click();
    await page
      .getByRole('status')
      .getByText(/^Copied a watch link to this operation, read-only, valid until /)
      .waitFor();
    const link = await page.evaluate(() => navigator.clipboard.readText());
    expect(link).toMatch(new RegExp(`^${server.origin}/watch#token=[\\w-]+\\.[\\w-]+\\.[\\w-]+$`));
    expect(await page.locator('#details-watch-link-url').isHidden()).toBe(true);

    // The link shows this operation, and its token can do nothing else.
    const watcher = await page.context().newPage();
    await watcher.goto(link);
    await watcher.locator('#watch-status', { hasText: 'Running' }).waitFor();
    const token = new URL(link).hash.slice('#token='.length);
    const listed = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ operations { totalCount } }' }),
    });
    expect(await listed.json()).toEqual({ data: { operations: { totalCount: 0 } } });
  });

  it('shows the link selected in a field when the clipboard refuses', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 60_000, steps: 60 } });
    const page = await detailsOf(server, op.id);
    await page.evaluate(() => {
      navigator.clipboard.writeText = () => Promise.reject(new Error('denied'));
    });

    await copyButton(page).click();
    await page
      .getByRole('status')
      .getByText(/^Copying was refused: the watch link \(valid until .+\) is selected/)
      .waitFor();
    const field = page.getByRole('textbox', { name: 'Watch link' });
    expect(await field.inputValue()).toMatch(new RegExp(`^${server.origin}/watch#token=`));
    expect(await field.evaluate((node) => node === document.activeElement)).toBe(true);
    const selected = await field.evaluate((node) => {
      const input = node as HTMLInputElement;
      return input.value.slice(input.selectionStart ?? 0, input.selectionEnd ?? 0);
    });
    expect(selected).toBe(await field.inputValue());
  });
});
