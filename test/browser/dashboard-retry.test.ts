import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { defineHandler } from '../../src/handlers/handler.js';
import { type UserClient, userClient } from '../helpers/clients.js';
import { type TestServer, tokenFor } from '../helpers/server.js';
import { doneState, waitFor } from '../helpers/wait.js';
import { accessibilityViolations, dashboardBrowser, row, signIn } from './dashboard-page.js';

const { serve, openPage } = dashboardBrowser();

async function openSignedIn(server: TestServer, user: string): Promise<Page> {
  const page = await openPage(server);
  await signIn(page, tokenFor(user));
  return page;
}

/** The open details panel. */
function panel(page: Page): Locator {
  return page.getByRole('dialog', { name: /^Details of demo\.sleep / });
}

/** The `<dd>` that follows the `<dt>` named `label` in the panel. */
function fieldValue(page: Page, label: string): Locator {
  return panel(page)
    .locator('.details-field')
    .filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) })
    .locator('dd');
}

/** The raw id inside a global id, whose tail the page shows. */
const tail = (id: string) =>
  Buffer.from(id, 'base64').toString('utf8').split(':')[1]?.slice(-8) ?? '';

/** The ids of alice's retries of `id`, as the API reports them, newest first. */
async function retriesOf(client: UserClient, id: string): Promise<string[]> {
  const r = await client.gql<{
    operations: { edges: Array<{ node: { id: string; retryOf: { id: string } | null } }> };
  }>('{ operations(first: 100) { edges { node { id retryOf { id } } } } }');
  return (r.body.data?.operations.edges ?? [])
    .map((edge) => edge.node)
    .filter((node) => node.retryOf?.id === id)
    .map((node) => node.id);
}

describe('retrying from the dashboard', () => {
  it('offers Retry on FAILED and CANCELLED rows only; a retry joins the table and links back to its original', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    const input = { ms: 0, steps: 1, fail: 'disk full' };
    const failed = await alice.start({ kind: 'demo.sleep', input });
    const succeeded = await alice.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });
    const running = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000 } });
    const cancelled = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000 } });
    await alice.cancel(cancelled.id, 'not now');
    const page = await openSignedIn(server, 'alice');
    await row(page, failed.id, 'FAILED').waitFor();
    await row(page, succeeded.id, 'SUCCEEDED').waitFor();
    await row(page, running.id, 'RUNNING').waitFor();
    await row(page, cancelled.id, 'CANCELLED').waitFor();

    const buttons = async (id: string) =>
      row(page, id)
        .getByRole('button')
        .evaluateAll((nodes) => nodes.map((n) => n.textContent));
    expect(await buttons(failed.id)).toEqual(['Retry']);
    expect(await buttons(cancelled.id)).toEqual(['Retry']);
    expect(await buttons(running.id)).toEqual(['Cancel']);
    expect(await buttons(succeeded.id)).toEqual([]);

    const retry = row(page, failed.id).getByRole('button', {
      name: `Retry demo.sleep …${tail(failed.id)}`,
    });
    await retry.click();
    const [again] = await waitFor(async () => {
      const ids = await retriesOf(alice, failed.id);
      return ids.length > 0 ? ids : null;
    }, 'the retry to be stored');
    const newRow = row(page, again ?? '');
    await newRow.waitFor();
    expect(await retriesOf(alice, failed.id)).toHaveLength(1);
    // The new run fails as the first did, and can be retried in turn.
    await row(page, again ?? '', 'FAILED').waitFor();
    expect(await doneState(alice, again ?? '')).toMatchObject({ status: 'FAILED', input });
    expect(await isFocused(retry)).toBe(true);

    // Its "retry of" link opens the original's details.
    const back = newRow.getByRole('link', { name: /^Retry of demo\.sleep / });
    expect(await back.textContent()).toBe(`retry of …${tail(failed.id)}`);
    await back.click();
    await fieldValue(page, 'Id').getByText(failed.id, { exact: true }).waitFor();
    await fieldValue(page, 'Status').getByText('Failed', { exact: true }).waitFor();
    expect(await fieldValue(page, 'Retry of').isVisible()).toBe(false);
    await page.keyboard.press('Escape');
    await panel(page).waitFor({ state: 'hidden' });
    expect(await isFocused(back)).toBe(true);

    // A cancelled one too; the original rows stay as they were.
    await row(page, cancelled.id)
      .getByRole('button', { name: /^Retry / })
      .click();
    const [cancelledAgain] = await waitFor(async () => {
      const ids = await retriesOf(alice, cancelled.id);
      return ids.length > 0 ? ids : null;
    }, 'the retry of the cancelled one to be stored');
    await row(page, cancelledAgain ?? '', 'RUNNING').waitFor();
    await row(page, cancelled.id, 'CANCELLED').waitFor();
    await row(page, failed.id, 'FAILED').waitFor();
  });

  it('retries from the details panel, which moves on to the new run; "Retry of" leads back', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    const failed = await alice.start({
      kind: 'demo.sleep',
      input: { ms: 0, steps: 1, fail: 'disk full' },
    });
    const page = await openSignedIn(server, 'alice');
    await row(page, failed.id, 'FAILED').waitFor();

    const opener = row(page, failed.id).getByRole('link', { name: /^Details of demo\.sleep / });
    await opener.click();
    await fieldValue(page, 'Id').getByText(failed.id, { exact: true }).waitFor();
    // Nothing to retry from here: the field is not shown for a first run.
    expect(await fieldValue(page, 'Retry of').isVisible()).toBe(false);
    expect(await accessibilityViolations(page)).toEqual([]);
    await panel(page)
      .getByRole('button', { name: `Retry demo.sleep …${tail(failed.id)}` })
      .click();

    const [again] = await waitFor(async () => {
      const ids = await retriesOf(alice, failed.id);
      return ids.length > 0 ? ids : null;
    }, 'the retry to be stored');
    await fieldValue(page, 'Id')
      .getByText(again ?? '', { exact: true })
      .waitFor();
    const link = fieldValue(page, 'Retry of').getByRole('link', {
      name: `Retry of demo.sleep …${tail(failed.id)}: its details`,
    });
    await link.waitFor();
    // The panel follows the new run live to its end, and offers Retry again.
    await fieldValue(page, 'Status').getByText('Failed', { exact: true }).waitFor();
    await panel(page)
      .getByRole('button', { name: `Retry demo.sleep …${tail(again ?? '')}` })
      .waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);

    await link.click();
    await fieldValue(page, 'Id').getByText(failed.id, { exact: true }).waitFor();
    expect(await fieldValue(page, 'Retry of').isVisible()).toBe(false);
    // Closing gives focus back to what opened the panel first.
    await page.keyboard.press('Escape');
    await panel(page).waitFor({ state: 'hidden' });
    expect(await isFocused(opener)).toBe(true);
    expect(await retriesOf(alice, failed.id)).toEqual([again]);
  });

  it('says why when the server refuses a retry, and stores nothing', async () => {
    const flaky = defineHandler({
      kind: 'test.flaky',
      parseInput: () => null,
      run: async () => {
        throw new Error('flaky');
      },
    });
    const first = await serve({}, undefined, [flaky]);
    const failed = await userClient(first, 'alice').start({ kind: 'test.flaky' });
    await doneState(userClient(first, 'alice'), failed.id);
    await first.stop();
    // The same database under a release that no longer has the kind.
    const server = await serve({}, first.dataDir);
    const alice = userClient(server, 'alice');
    const page = await openSignedIn(server, 'alice');
    await row(page, failed.id, 'FAILED').waitFor();
    await row(page, failed.id)
      .getByRole('button', { name: /^Retry / })
      .click();
    await page
      .getByRole('alert')
      .getByText(
        `Could not retry test.flaky …${tail(failed.id)}: id: no handler is registered for kind "test.flaky" any more.`,
      )
      .waitFor();
    expect(await retriesOf(alice, failed.id)).toEqual([]);
  });
});

function isFocused(locator: Locator): Promise<boolean> {
  return locator.evaluate((node) => node === document.activeElement);
}
