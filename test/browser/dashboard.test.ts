import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineHandler, type Handler } from '../../src/handlers/handler.js';
import { userClient } from '../helpers/clients.js';
import { type TestServer, tokenFor } from '../helpers/server.js';
import { accessibilityViolations, dashboardBrowser, live, row, signIn } from './dashboard-page.js';

/**
 * docs/dashboard.png is rewritten only on request (`npm run screenshot`, which sets
 * UPDATE_SCREENSHOT=1), so a test run leaves the working tree as it found it.
 */
const SCREENSHOT =
  process.env.UPDATE_SCREENSHOT === '1'
    ? resolve(import.meta.dirname, '..', '..', 'docs', 'dashboard.png')
    : null;

const { serve, openPage } = dashboardBrowser();

/** The row's progress bar value, or null while it is indeterminate. */
function progressOf(page: Page, id: string): Promise<number | null> {
  return row(page, id)
    .getByRole('progressbar')
    .evaluate((bar) => {
      const progress = bar as HTMLProgressElement;
      return progress.hasAttribute('value') ? progress.value : null;
    });
}

/** Resolves once the row's progress bar shows more than `than`. */
async function progressAbove(page: Page, id: string, than: number): Promise<void> {
  await page.waitForFunction(
    ([opId, min]) => {
      const bar = document.querySelector<HTMLProgressElement>(
        `tr[data-operation-id="${opId}"] progress`,
      );
      return bar?.hasAttribute('value') === true && bar.value > Number(min);
    },
    [id, String(than)] as const,
  );
}

/** How many operations the server holds, whoever owns them (asked as an admin). */
async function storedOperations(server: TestServer): Promise<number> {
  const admin = userClient(server, 'root', { admin: true });
  const r = await admin.gql<{ operations: { totalCount: number } }>(
    '{ operations(first: 1) { totalCount } }',
  );
  if (!r.body.data) throw new Error(`listing failed: ${JSON.stringify(r.body)}`);
  return r.body.data.operations.totalCount;
}

function isFocused(locator: Locator): Promise<boolean> {
  return locator.evaluate((node) => node === document.activeElement);
}

describe('the live dashboard', () => {
  it('shows a started operation progressing, and reflects a cancel live, without a reload', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    // Some history, so the dashboard (and its screenshot) shows each kind of ending.
    const succeeded = await alice.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });
    const failed = await alice.start({
      kind: 'demo.sleep',
      input: { ms: 0, steps: 1, fail: 'export target is read-only' },
    });
    const cancelled = await alice.start({ kind: 'demo.sleep', input: { ms: 60_000 } });
    await alice.cancel(cancelled.id, 'superseded by a newer run');

    const page = await openPage(server);
    await signIn(page, tokenFor('alice'));
    await row(page, succeeded.id, 'SUCCEEDED').waitFor();
    await row(page, failed.id, 'FAILED').waitFor();
    await row(page, cancelled.id, 'CANCELLED').waitFor();
    await page.locator('#viewer').getByText('alice', { exact: true }).waitFor();
    expect(await page.locator('#viewer-admin').isVisible()).toBe(false);

    await page.getByLabel('Kind', { exact: true }).selectOption('demo.sleep');
    await page.getByLabel('Input (JSON)').fill('{"ms": 10000, "steps": 40}');
    await page.getByRole('button', { name: 'Start operation' }).click();
    const started = page.locator('#operations-body tr').first();
    await page.locator('#operations-body tr').nth(3).waitFor();
    const id = await started.getAttribute('data-operation-id');
    if (id === null) throw new Error('the new row has no data-operation-id');
    expect(await alice.get(id)).toMatchObject({
      kind: 'demo.sleep',
      input: { ms: 10000, steps: 40 },
    });

    await progressAbove(page, id, 0);
    const first = await progressOf(page, id);
    if (first === null) throw new Error('the progress bar is indeterminate');
    await progressAbove(page, id, first);
    const second = await progressOf(page, id);
    expect(second).toBeGreaterThan(first);

    if (SCREENSHOT) {
      // Mid-way for the picture: the page keeps up with the stream on its own.
      await progressAbove(page, id, 0.3);
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await page.mouse.move(0, 0);
      await page.screenshot({ path: SCREENSHOT });
    }

    await row(page, id)
      .getByRole('button', { name: /^Cancel / })
      .click();
    const dialog = page.getByRole('dialog', { name: 'Cancel operation?' });
    await dialog.waitFor();
    await dialog.getByLabel('Reason (optional)').fill('not needed any more');
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));
    await dialog.getByRole('button', { name: 'Cancel operation' }).click();
    // The stream brings CANCELLED to the page as it is (how fast is for npm run bench).
    await row(page, id, 'CANCELLED').waitFor();
    expect(navigations).toEqual([]);

    await dialog.waitFor({ state: 'hidden' });
    // A cancelled run can be run again: Retry takes the Cancel button's place.
    expect(
      await row(page, id)
        .getByRole('button')
        .evaluateAll((nodes) => nodes.map((node) => node.textContent)),
    ).toEqual(['Retry']);
    expect(await row(page, id).getByText('Cancelled', { exact: true }).count()).toBe(1);
    expect(await row(page, id).getByText('not needed any more').count()).toBe(1);
    expect(await alice.get(id)).toMatchObject({
      status: 'CANCELLED',
      cancelledBy: 'alice',
      cancelReason: 'not needed any more',
    });
  });

  it("never shows another user's operations, listed or live, while an admin sees them", async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    const bob = userClient(server, 'bob');
    const listed = await alice.start({ kind: 'demo.sleep', input: { ms: 30_000, steps: 30 } });

    const bobPage = await openPage(server);
    await signIn(bobPage, tokenFor('bob'));
    const adminPage = await openPage(server);
    await signIn(adminPage, tokenFor('root', { admin: true }));
    await adminPage.locator('#viewer-admin').getByText('Admin').waitFor();
    await row(adminPage, listed.id).waitFor();

    // Started while both pages are live: the admin's row moves, bob's table never gets it.
    const during = await alice.start({ kind: 'demo.sleep', input: { ms: 20_000, steps: 40 } });
    await progressAbove(adminPage, during.id, 0);
    expect(await row(adminPage, during.id).locator('.owner').textContent()).toBe('alice');
    // Bob's own change comes after all of alice's on the same server: his stream is flowing.
    const own = await bob.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });
    await row(bobPage, own.id, 'SUCCEEDED').waitFor();
    await progressAbove(adminPage, during.id, (await progressOf(adminPage, during.id)) ?? 0);

    expect(await row(bobPage, during.id).count()).toBe(0);
    expect(await row(bobPage, listed.id).count()).toBe(0);
    expect(await bobPage.locator('#operations-body tr').count()).toBe(1);
    expect(await bobPage.locator('#viewer-admin').isVisible()).toBe(false);
    expect(await row(adminPage, own.id).count()).toBe(1);
  });

  it('has no WCAG 2.1 A or AA violations that axe-core finds, with rows and with the dialog open', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    const done = await alice.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });
    const failed = await alice.start({
      kind: 'demo.sleep',
      input: { ms: 0, steps: 1, fail: 'disk full' },
    });
    const running = await alice.start({ kind: 'demo.sleep', input: { ms: 30_000, steps: 30 } });
    const page = await openPage(server);
    expect(await accessibilityViolations(page)).toEqual([]); // signed out

    await signIn(page, tokenFor('alice'));
    await row(page, done.id, 'SUCCEEDED').waitFor();
    await row(page, failed.id, 'FAILED').waitFor();
    await row(page, running.id, 'RUNNING').waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.emulateMedia({ colorScheme: 'dark' }); // contrast holds in the dark scheme too
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.emulateMedia({ colorScheme: 'light' });

    await row(page, running.id)
      .getByRole('button', { name: /^Cancel / })
      .click();
    await page.getByRole('dialog', { name: 'Cancel operation?' }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it('can be used with the keyboard alone, and every control has a label', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 30_000, steps: 30 } });
    const page = await openPage(server);
    await signIn(page, tokenFor('alice'));

    // Found by their accessible names, so the labels are wired.
    expect(await page.getByLabel('Token').getAttribute('type')).toBe('password');
    await page.getByRole('combobox', { name: 'Kind', exact: true }).waitFor();
    await page.getByRole('textbox', { name: 'Input (JSON)' }).waitFor();
    await page
      .getByRole('group', { name: 'Status' })
      .getByRole('checkbox', { name: 'Running' })
      .waitFor();
    await page.getByLabel('Kind contains').waitFor();
    await page.getByRole('table', { name: 'Your operations, newest first' }).waitFor();
    await page.getByRole('columnheader', { name: 'Progress' }).waitFor();
    await row(page, op.id, 'RUNNING').waitFor();
    await row(page, op.id)
      .getByRole('progressbar', { name: /^Progress of demo\.sleep / })
      .waitFor();

    const cancel = row(page, op.id).getByRole('button', { name: /^Cancel demo\.sleep / });
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    for (let presses = 0; presses < 40 && !(await isFocused(cancel)); presses++) {
      await page.keyboard.press('Tab');
    }
    expect(await isFocused(cancel)).toBe(true);

    const dialog = page.getByRole('dialog', { name: 'Cancel operation?' });
    const reason = dialog.getByRole('textbox', { name: 'Reason (optional)' });
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    expect(await isFocused(reason)).toBe(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await isFocused(cancel)).toBe(true);
    expect((await alice.get(op.id))?.status).toBe('RUNNING');

    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.keyboard.type('keyboard only');
    await page.keyboard.press('Tab');
    expect(await isFocused(dialog.getByRole('button', { name: 'Keep running' }))).toBe(true);
    await page.keyboard.press('Tab');
    expect(await isFocused(dialog.getByRole('button', { name: 'Cancel operation' }))).toBe(true);
    await page.keyboard.press('Enter');
    await row(page, op.id, 'CANCELLED').waitFor();
    await dialog.waitFor({ state: 'hidden' });
    // The Cancel button is gone; focus stays on its row rather than falling to the page.
    expect(await row(page, op.id).evaluate((tr) => tr.contains(document.activeElement))).toBe(true);
    expect((await alice.get(op.id))?.cancelReason).toBe('keyboard only');
    // The change was announced politely, once.
    await page
      .locator('#announcer')
      .getByText(/is now Cancelled\./)
      .waitFor();
  });

  it('survives a server restart: Reconnecting…, then Live, and resyncs what it missed', async () => {
    const first = await serve();
    const alice = userClient(first, 'alice');
    const page = await openPage(first);
    await signIn(page, tokenFor('alice'));
    const running = await alice.start({ kind: 'demo.sleep', input: { ms: 60_000, steps: 60 } });
    await row(page, running.id, 'RUNNING').waitFor();

    await first.stop();
    await page.getByRole('status').getByText('Reconnecting…').waitFor();
    expect(await row(page, running.id, 'RUNNING').count()).toBe(1);
    // The shutdown recorded the run INTERRUPTED after the socket closed: no live event told the
    // page, so only the re-list after reconnecting can show it.
    const second = await serve({ PORT: String(first.app.port) }, first.dataDir);
    expect((await userClient(second, 'alice').get(running.id))?.status).toBe('FAILED');
    await page.getByRole('status').getByText('Live', { exact: true }).waitFor();
    await row(page, running.id, 'FAILED').waitFor();
    expect(
      await row(page, running.id)
        .getByText(/INTERRUPTED/)
        .count(),
    ).toBe(1);

    const after = await userClient(second, 'alice').start({ kind: 'demo.sleep', input: { ms: 0 } });
    await row(page, after.id, 'SUCCEEDED').waitFor();
  });

  it('applies the filters on the page, so a row leaving a status filter disappears', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    const a = await alice.start({ kind: 'demo.sleep', input: { ms: 30_000, steps: 30 } });
    const page = await openPage(server);
    await signIn(page, tokenFor('alice'));
    await row(page, a.id, 'RUNNING').waitFor();

    await page.getByRole('checkbox', { name: 'Running' }).check();
    await page.getByRole('checkbox', { name: 'Pending' }).check();
    await alice.cancel(a.id, 'filtered');
    await row(page, a.id).waitFor({ state: 'detached' });
    await page.getByText('No operations match the filters.').waitFor();

    await page.getByRole('checkbox', { name: 'Cancelled' }).check();
    await row(page, a.id, 'CANCELLED').waitFor();
    await page.getByLabel('Kind contains').fill('reports.');
    await row(page, a.id).waitFor({ state: 'detached' });
    await page.getByLabel('Kind contains').fill('SLEEP');
    await row(page, a.id).waitFor();
  });

  it('loads older operations page by page on request', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    const ids: string[] = [];
    for (let i = 0; i < 53; i++) {
      ids.push((await alice.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } })).id);
    }
    const page = await openPage(server);
    await signIn(page, tokenFor('alice'));
    const rows = page.locator('#operations-body tr');
    await row(page, ids[52] ?? '').waitFor();
    expect(await rows.count()).toBe(50);
    await row(page, ids[2] ?? '').waitFor({ state: 'detached' });
    expect(await page.locator('#operations-summary').textContent()).toContain('50 of 53 loaded');

    await page.getByRole('button', { name: 'Show older operations' }).click();
    await row(page, ids[0] ?? '').waitFor();
    expect(await rows.count()).toBe(53);
    await page.getByRole('button', { name: 'Show older operations' }).waitFor({ state: 'hidden' });
    expect(await page.locator('#operations-summary').textContent()).toBe('53 operations');
  });

  it('offers the kinds in a list, pre-fills the example, and checks the input in the page', async () => {
    const server = await serve();
    const page = await openPage(server);
    const starts: string[] = [];
    page.on('request', (request) => {
      const body = request.postData() ?? '';
      if (body.includes('startOperation')) starts.push(body);
    });
    const kind = page.getByLabel('Kind', { exact: true });
    const input = page.getByLabel('Input (JSON)');
    const start = page.getByRole('button', { name: 'Start operation' });
    const error = page.locator('#start-error');
    expect(await kind.isDisabled()).toBe(true);
    await signIn(page, tokenFor('alice'));

    // The server's kinds, in its order; the first one chosen, its example and description shown.
    await expect.poll(() => kind.locator('option').allTextContents()).toEqual(['demo.sleep']);
    expect(await kind.inputValue()).toBe('demo.sleep');
    expect(await input.inputValue()).toBe('{"ms":10000,"steps":20}');
    await page
      .locator('#start-kind-hint')
      .getByText(/^Sleeps ms milliseconds/)
      .waitFor();
    expect(await kind.getAttribute('aria-describedby')).toBe('start-kind-hint');

    await input.fill('{"ms": ');
    await start.click();
    await error.getByText(/^The input is not valid JSON/).waitFor();
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    expect(await input.getAttribute('aria-describedby')).toBe('start-error');
    expect(await error.getAttribute('role')).toBe('alert');

    // Checked against the kind's JSON Schema in the page: the request is never sent.
    await input.fill('{"ms": 3600001}');
    await start.click();
    await error.getByText('input.ms: 3600001 is greater than 3600000.').waitFor();
    await input.fill('{"ms": 10, "nap": true}');
    await start.click();
    await error.getByText(/^input: Property "nap" does not match/).waitFor();
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    expect(starts).toEqual([]);
    expect(await page.locator('#operations-body tr').count()).toBe(0);
    expect(await storedOperations(server)).toBe(0);

    // What the schema admits goes to the server, which has the last word.
    await input.fill('{"ms": 0, "steps": 1}');
    await start.click();
    await page.locator('#operations-body tr').first().waitFor();
    expect(starts).toHaveLength(1);
    expect(await storedOperations(server)).toBe(1);
    expect(await input.getAttribute('aria-invalid')).toBeNull();
    expect(await error.isHidden()).toBe(true);
  });

  it("shows the server's refusal on the field at fault when it rejects what the page let through", async () => {
    // A refinement JSON Schema cannot express: the page admits {from: 5, to: 1}, the server does not.
    const range = defineHandler({
      kind: 'test.range',
      description: 'Counts from one number to another.',
      inputSchema: z
        .strictObject({ from: z.number().int(), to: z.number().int() })
        .refine((value) => value.from <= value.to, {
          path: ['to'],
          message: 'must not be below from',
        }),
      exampleInput: { from: 1, to: 3 },
      run: async () => null,
    });
    const server = await serve({}, undefined, [range as Handler]);
    const page = await openPage(server);
    await signIn(page, tokenFor('alice'));
    const kind = page.getByLabel('Kind', { exact: true });
    const input = page.getByLabel('Input (JSON)');
    await expect.poll(() => kind.locator('option').count()).toBe(2);
    await kind.selectOption('test.range');
    // The example follows the kind, as long as the field holds an untouched example.
    expect(await input.inputValue()).toBe('{"from":1,"to":3}');
    await page
      .locator('#start-kind-hint')
      .getByText('Counts from one number to another.')
      .waitFor();
    await input.fill('{"from": 5, "to": 1}');
    await page.getByRole('button', { name: 'Start operation' }).click();
    await page.locator('#start-error').getByText('input.to: must not be below from.').waitFor();
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#operations-body tr').count()).toBe(0);
    expect(await storedOperations(server)).toBe(0);
    // An edited input stays when the kind changes.
    await kind.selectOption('demo.sleep');
    expect(await input.inputValue()).toBe('{"from": 5, "to": 1}');
  });

  it('shows a refused token in an alert instead of a blank page', async () => {
    const server = await serve();
    const page = await openPage(server);
    await page.getByLabel('Token').fill('not-a-jwt');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page
      .getByRole('alert')
      .getByText(/refused the token/)
      .waitFor();
    await page.getByRole('status').getByText('Offline').waitFor();
    await page.getByText('Enter a token to see operations.').waitFor();
  });

  it('prefills the development token when the server has one, and only then', async () => {
    const dev = await serve({ JWT_SECRET: undefined });
    expect(dev.app.devToken).not.toBeNull();
    const devPage = await openPage(dev);
    await live(devPage);
    expect(await devPage.getByLabel('Token').inputValue()).toBe(dev.app.devToken);
    await devPage.locator('#viewer').getByText('developer').waitFor();
    await devPage.locator('#viewer-admin').getByText('Admin').waitFor();

    const keyed = await serve();
    const page = await openPage(keyed);
    await page.locator('#operations-summary').getByText('0 operations').waitFor();
    expect(await page.locator('meta[name="longrun-dev-token"]').count()).toBe(0);
    expect(await page.getByLabel('Token').inputValue()).toBe('');
    await page.getByRole('status').getByText('Offline').waitFor();

    // The token typed in is kept for the tab: a reload signs in again.
    const token = tokenFor('alice');
    await signIn(page, token);
    await page.reload();
    await live(page);
    expect(await page.getByLabel('Token').inputValue()).toBe(token);
  });
});
