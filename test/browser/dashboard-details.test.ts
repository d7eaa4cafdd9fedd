import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { userClient } from '../helpers/clients.js';
import { type TestServer, tokenFor } from '../helpers/server.js';
import { accessibilityViolations, dashboardBrowser, row, signIn } from './dashboard-page.js';

const { serve, openPage } = dashboardBrowser();

/** A fresh browser profile on the dashboard, signed in as `user`, with the first list in. */
async function openSignedIn(server: TestServer, user: string): Promise<Page> {
  const page = await openPage(server);
  await signIn(page, tokenFor(user));
  return page;
}

/** The row header's link that opens the details panel. */
function detailsTrigger(page: Page, id: string): Locator {
  return row(page, id).getByRole('link', { name: /^Details of demo\.sleep / });
}

/** The open details panel (a modal dialog named after the operation). */
function panel(page: Page): Locator {
  return page.getByRole('dialog', { name: /^Details of demo\.sleep / });
}

/** The `<dd>` that follows the `<dt>` named `label` in the panel. */
function fieldValue(page: Page, label: string): Locator {
  return panel(page)
    .locator('.details-field')
    .filter({
      has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }),
    })
    .locator('dd');
}

/** The transition log's rows for `status`. */
function logRows(page: Page, status: string): Locator {
  return panel(page).locator(`#details-events-body tr[data-status="${status}"]`);
}

function isFocused(locator: Locator): Promise<boolean> {
  return locator.evaluate((node) => node === document.activeElement);
}

describe('the operation details panel', () => {
  it('shows a running operation live, cancels it from the panel and logs the transitions', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 30_000, steps: 30 } });
    const page = await openSignedIn(server, 'alice');
    await row(page, op.id, 'RUNNING').waitFor();

    await detailsTrigger(page, op.id).click();
    const details = panel(page);
    await details.waitFor();
    expect(await details.getAttribute('aria-labelledby')).toBe('details-title');
    await fieldValue(page, 'Kind').getByText('demo.sleep', { exact: true }).waitFor();
    await fieldValue(page, 'Id').getByText(op.id, { exact: true }).waitFor();
    await fieldValue(page, 'Status').getByText('Running', { exact: true }).waitFor();
    await fieldValue(page, 'Owner').getByText('alice', { exact: true }).waitFor();
    await fieldValue(page, 'Id').getByRole('button', { name: 'Copy the full id' }).waitFor();
    expect(await fieldValue(page, 'Created').locator('time').getAttribute('datetime')).toBe(
      op.createdAt,
    );
    expect(await fieldValue(page, 'Finished').textContent()).toBe('—');
    expect(JSON.parse((await details.locator('#details-input').textContent()) ?? '')).toEqual({
      ms: 30_000,
      steps: 30,
    });
    expect(await details.locator('#details-input').textContent()).toContain('\n  "ms": 30000');
    await logRows(page, 'PENDING').first().waitFor();
    await logRows(page, 'RUNNING').first().waitFor();

    // Live: the panel's progress bar moves with the stream, as the table's does.
    await page.waitForFunction(() => {
      const bar = document.querySelector<HTMLProgressElement>('#details-fields progress');
      return bar?.hasAttribute('value') === true && bar.value > 0;
    });

    const cancel = details.getByRole('button', { name: /^Cancel demo\.sleep / });
    await cancel.click();
    const confirm = page.getByRole('dialog', { name: 'Cancel operation?' });
    await confirm.waitFor();
    await confirm.getByLabel('Reason (optional)').fill('wrong input');
    await confirm.getByRole('button', { name: 'Cancel operation' }).click();
    await confirm.waitFor({ state: 'hidden' });

    // The panel stays open and follows the cancel to its end.
    await fieldValue(page, 'Status').getByText('Cancelled', { exact: true }).waitFor();
    await fieldValue(page, 'Cancel reason').getByText('wrong input', { exact: true }).waitFor();
    await fieldValue(page, 'Cancelled by').getByText('alice', { exact: true }).waitFor();
    await fieldValue(page, 'Finished').locator('time').waitFor();
    await logRows(page, 'CANCELLING').getByText('user:alice', { exact: true }).first().waitFor();
    await logRows(page, 'CANCELLED').first().waitFor();
    expect(await logRows(page, 'CANCELLING').getByText('wrong input').count()).toBe(1);
    // The request is alice's; the worker that stops the run records the final state.
    const ended = logRows(page, 'CANCELLED').first();
    expect(await ended.locator('.details-actor').textContent()).toMatch(/^worker:/);
    expect(await ended.locator('.details-reason').textContent()).toBe('wrong input');
    expect(await details.getByRole('button', { name: /^Cancel / }).count()).toBe(0);
    // The cancel dialog's trigger is gone: focus lands in the panel, not behind it.
    expect(await page.evaluate(() => document.activeElement?.closest('dialog')?.id)).toBe(
      'details-dialog',
    );
    await row(page, op.id, 'CANCELLED').waitFor();
  });

  it('shows the error of a failed operation', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    const failed = await alice.start({
      kind: 'demo.sleep',
      input: { ms: 0, steps: 1, fail: 'disk full' },
    });
    const page = await openSignedIn(server, 'alice');
    await row(page, failed.id, 'FAILED').waitFor();

    await detailsTrigger(page, failed.id).click();
    await fieldValue(page, 'Status').getByText('Failed', { exact: true }).waitFor();
    const error = fieldValue(page, 'Error');
    await error.getByText('HANDLER_ERROR', { exact: true }).waitFor();
    await error.getByText(/disk full/).waitFor();
    await logRows(page, 'FAILED').first().waitFor();
    expect(
      await panel(page)
        .getByRole('button', { name: /^Cancel / })
        .count(),
    ).toBe(0);
    // Nothing cancelled it: the cancel fields are not shown.
    expect(await panel(page).locator('dt', { hasText: 'Cancel reason' }).isVisible()).toBe(false);
  });

  it('says so when the transition log cannot be loaded', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    const done = await alice.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });
    const page = await openSignedIn(server, 'alice');
    await row(page, done.id, 'SUCCEEDED').waitFor();
    await page.route('**/graphql', async (route) => {
      if (!route.request().postData()?.includes('OperationEvents')) return route.fallback();
      return route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          errors: [{ message: 'The log is unavailable.', extensions: { code: 'INTERNAL' } }],
        }),
      });
    });

    await detailsTrigger(page, done.id).click();
    await panel(page)
      .getByRole('alert')
      .getByText(/^Could not load the transition log: /)
      .waitFor();
    // The rest of the panel is still there.
    await fieldValue(page, 'Status').getByText('Succeeded', { exact: true }).waitFor();
  });

  it('opens with Enter, closes with Escape and gives focus back to its trigger', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 30_000, steps: 30 } });
    const page = await openSignedIn(server, 'alice');
    await row(page, op.id, 'RUNNING').waitFor();

    const trigger = detailsTrigger(page, op.id);
    await trigger.focus();
    await page.keyboard.press('Enter');
    const details = panel(page);
    await details.waitFor();
    expect(await details.evaluate((node) => node.contains(document.activeElement))).toBe(true);
    await logRows(page, 'RUNNING').first().waitFor();

    await page.keyboard.press('Escape');
    await details.waitFor({ state: 'hidden' });
    expect(await isFocused(trigger)).toBe(true);
    expect((await alice.get(op.id))?.status).toBe('RUNNING');
  });

  it('has no WCAG 2.1 A or AA violations that axe-core finds with the panel open', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    const failed = await alice.start({
      kind: 'demo.sleep',
      input: { ms: 0, steps: 1, fail: 'disk full' },
    });
    const running = await alice.start({ kind: 'demo.sleep', input: { ms: 30_000, steps: 30 } });
    const cancelled = await alice.start({ kind: 'demo.sleep', input: { ms: 30_000 } });
    await alice.cancel(cancelled.id, 'not needed');
    const page = await openSignedIn(server, 'alice');
    await row(page, failed.id, 'FAILED').waitFor();
    await row(page, running.id, 'RUNNING').waitFor();
    await row(page, cancelled.id, 'CANCELLED').waitFor();

    for (const id of [running.id, failed.id, cancelled.id]) {
      await detailsTrigger(page, id).click();
      await panel(page).waitFor();
      await panel(page).locator('#details-events[aria-busy="false"]').waitFor();
      await page.emulateMedia({ colorScheme: 'light' });
      expect(await accessibilityViolations(page)).toEqual([]);
      await page.emulateMedia({ colorScheme: 'dark' });
      expect(await accessibilityViolations(page)).toEqual([]);
      await page.keyboard.press('Escape');
      await panel(page).waitFor({ state: 'hidden' });
    }
  });
});
