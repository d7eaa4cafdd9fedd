import { resolve } from 'node:path';
import type { Page, Request } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { userClient } from '../helpers/clients.js';
import type { TestServer } from '../helpers/server.js';
import { createWatchToken, mintTestWatchToken } from '../helpers/watch.js';
import { accessibilityViolations, dashboardBrowser } from './dashboard-page.js';

const { serve, openPage } = dashboardBrowser();

/** docs/watch-page.png is rewritten only on request (`npm run screenshot`). */
const SCREENSHOT =
  process.env.UPDATE_SCREENSHOT === '1'
    ? resolve(import.meta.dirname, '..', '..', 'docs', 'watch-page.png')
    : null;

/** alice's operation of `input` and a watch link for it (`ttlSeconds` long). */
async function watchLink(server: TestServer, input: Record<string, unknown>, ttlSeconds?: number) {
  const alice = userClient(server, 'alice');
  const op = await alice.start({ kind: 'demo.sleep', input });
  const created = await createWatchToken(server.url, alice.token, op.id, ttlSeconds);
  if (!created.watchUrl || !created.token) throw new Error(JSON.stringify(created));
  return { alice, op, url: created.watchUrl, token: created.token };
}

/** Every request the page makes to /graphql, as it was sent. */
function graphqlRequests(page: Page): Request[] {
  const seen: Request[] = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/graphql') seen.push(request);
  });
  return seen;
}

const statusText = (page: Page) => page.locator('#watch-status').textContent();

describe('the watch page of a watch link', () => {
  it('shows the operation live over an EventSource with access_token, to how it ended', async () => {
    const server = await serve();
    const { alice, op, url, token } = await watchLink(server, { ms: 60_000, steps: 60 });
    const page = await openPage(server, 'about:blank');
    const requests = graphqlRequests(page);
    await page.goto(url);
    await page.getByText('demo.sleep', { exact: true }).waitFor();
    await page.locator('#watch-status', { hasText: 'Running' }).waitFor();
    // Live: the bar moves as the handler reports progress.
    await page.waitForFunction(() => {
      const bar = document.querySelector<HTMLProgressElement>('#watch-progress');
      return bar?.hasAttribute('value') === true && bar.value > 0;
    });
    await page.locator('#watch-message', { hasText: /^step \d+ of 60$/ }).waitFor();
    if (SCREENSHOT) {
      await page.setViewportSize({ width: 720, height: 420 });
      await page.screenshot({ path: SCREENSHOT });
    }
    await alice.cancel(op.id, 'wrong file');
    await page.locator('#watch-status', { hasText: 'Cancelled' }).waitFor();
    await page.getByText(/^Cancelled by alice at .+: “wrong file”\.$/).waitFor();
    expect(await page.locator('#watch-progress').getAttribute('class')).toBe('progress-cancelled');
    expect(await page.title()).toMatch(/Cancelled · demo\.sleep · longrun$/);

    // The stream was one GET with the token in access_token, no Authorization header, no Referer.
    const stream = requests.find((request) => request.method() === 'GET');
    expect(stream).toBeDefined();
    const sent = new URL(stream?.url() ?? '');
    expect(sent.searchParams.get('access_token')).toBe(token);
    const headers = (await stream?.allHeaders()) ?? {};
    expect(headers.accept).toBe('text/event-stream');
    expect(headers.authorization).toBeUndefined();
    expect(headers.referer).toBeUndefined();
    // Nothing else was asked of the API: no list, no other operation.
    expect(requests.every((request) => request.method() === 'GET')).toBe(true);
  });

  it('shows a success and a failure as they ended', async () => {
    const server = await serve();
    const succeeded = await watchLink(server, { ms: 0, steps: 1 });
    const page = await openPage(server, succeeded.url);
    await page.locator('#watch-status', { hasText: 'Succeeded' }).waitFor();
    await page.getByText(/^Succeeded at .+\.$/).waitFor();
    expect(await page.locator('#watch-percent').textContent()).toBe('100%');

    const failed = await watchLink(server, { ms: 0, steps: 1, fail: 'disk full' });
    await page.goto(failed.url);
    await page.locator('#watch-status', { hasText: 'Failed' }).waitFor();
    await page.getByText(/^Failed at .+: disk full \(HANDLER_ERROR\)\.$/).waitFor();
  });

  it('says when the link has expired, before and while watching', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 60_000 } });
    const old = mintTestWatchToken('alice', op.id, 60, Date.now() - 3_600_000);
    const page = await openPage(server, `${server.origin}/watch#token=${old}`);
    await page
      .getByRole('alert')
      .getByText(/^This watch link expired at /)
      .waitFor();

    const { url } = await watchLink(server, { ms: 60_000, steps: 60 }, 2);
    await page.goto(url);
    await page.locator('#watch-status', { hasText: 'Running' }).waitFor();
    await page
      .getByRole('alert')
      .getByText(/^This watch link expired at /)
      .waitFor();
    // The last state stays on the page.
    expect(await statusText(page)).toBe('Running');
  });

  it('asks for a link when the address holds none, or holds a user token', async () => {
    const server = await serve();
    const alice = userClient(server, 'alice');
    for (const hash of ['', `#token=${alice.token}`, '#token=garbage']) {
      const page = await openPage(server, `${server.origin}/watch${hash}`);
      await page
        .getByRole('alert')
        .getByText(/this address has none\.$/)
        .waitFor();
      expect(await statusText(page)).toBe('No link');
    }
  });

  it('has no WCAG 2.1 A or AA violations that axe-core finds, in both colour schemes', async () => {
    const server = await serve();
    const { alice, op, url } = await watchLink(server, { ms: 60_000, steps: 60 });
    const page = await openPage(server, url);
    await page.locator('#watch-status', { hasText: 'Running' }).waitFor();
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      expect(await accessibilityViolations(page)).toEqual([]);
    }
    await alice.cancel(op.id, 'not needed');
    await page.locator('#watch-outcome:not([hidden])').waitFor();
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      expect(await accessibilityViolations(page)).toEqual([]);
    }
  });
});
