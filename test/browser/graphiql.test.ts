import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { launchChromium } from './dashboard-page.js';

let browser: Browser;
let server: TestServer;

/**
 * GraphiQL is one 9 MB script that every page load parses and compiles: seconds on an idle
 * machine, many more on a loaded one. The tests wait for what the page shows, with room to spare.
 */
const PAGE_TEST = { timeout: 180_000 };
const PAGE_WAIT_MS = 60_000;

beforeAll(async () => {
  browser = await launchChromium();
});

beforeEach(async () => {
  // No key configured outside production: the development token fills GraphiQL's headers.
  server = await startTestServer({ JWT_SECRET: undefined });
});

afterAll(async () => {
  await browser?.close();
});

/** Content-Security-Policy violations and uncaught errors of the test's pages. */
const problems: string[] = [];
afterEach(() => {
  expect(problems.splice(0)).toEqual([]);
});

/**
 * A new page whose every wait allows for a slow machine, and which reports anything the page's
 * CSP blocks (GraphiQL inlines its script and starts Monaco's workers from blob: URLs).
 */
async function newPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(PAGE_WAIT_MS);
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  page.on('console', (message) => {
    if (message.text().startsWith('CSP violation')) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return page;
}

/** Everything the page's origin keeps in localStorage and sessionStorage, as one string. */
function storedText(page: Page): Promise<string> {
  return page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }]));
}

/** Opens GraphiQL with `document` in its editor and runs it with the ▶ button. */
async function run(page: Page, document: string): Promise<void> {
  await page.goto(`${server.url}?query=${encodeURIComponent(document)}`);
  await page.locator('.graphiql-execute-button').click();
}

/** The response pane's text without the wrapping GraphiQL adds. */
async function response(page: Page): Promise<string> {
  return ((await page.locator('.graphiql-response').textContent()) ?? '').replace(/\s+/g, '');
}

it(
  'opens with the start, watch and cancel examples and the development token',
  PAGE_TEST,
  async () => {
    expect(server.app.devToken).not.toBeNull();
    const page = await newPage();
    await page.goto(server.url);
    // Monaco renders spaces as no-break spaces.
    const editorText = async () =>
      ((await page.locator('.graphiql-query-editor').textContent()) ?? '').replaceAll(
        '\u00a0',
        ' ',
      );
    await expect.poll(editorText, { timeout: PAGE_WAIT_MS }).toContain('mutation Start');
    const text = await editorText();
    expect(text).toContain('subscription Watch');
    expect(text).toContain('mutation Cancel');
    await page.getByText('Headers', { exact: true }).click();
    await expect
      .poll(
        async () =>
          ((await page.locator('.graphiql-editor-tool').textContent()) ?? '').replaceAll(
            '\u00a0',
            ' ',
          ),
        { timeout: PAGE_WAIT_MS },
      )
      .toContain('"Authorization": "Bearer eyJ');
    await page.close();
  },
);

it(
  'starts, watches live over SSE and cancels with the token from its headers editor',
  PAGE_TEST,
  async () => {
    const page = await newPage();
    // How the page talks to the server: every GraphQL response's content type, and any WebSocket.
    const contentTypes: string[] = [];
    const sockets: string[] = [];
    page.on('response', (answer) => {
      if (new URL(answer.url()).pathname === '/graphql')
        contentTypes.push(answer.headers()['content-type'] ?? '');
    });
    page.on('websocket', (socket) => sockets.push(socket.url()));
    await run(
      page,
      'mutation Start { startOperation(input: { kind: "demo.sleep", input: { ms: 60000, steps: 600 } }) { __typename ... on StartOperationSuccess { operation { id ownerId } } } }',
    );
    const started = await waitFor(
      async () =>
        /"__typename":"StartOperationSuccess","operation":\{"id":"([^"]+)"/.exec(
          await response(page),
        ),
      'the Start mutation to answer',
      PAGE_WAIT_MS,
    );
    expect(await response(page)).toContain('"ownerId":"developer"');
    const id = started[1] ?? '';

    await run(
      page,
      `subscription Watch { operationUpdated(id: "${id}") { status progress revision } }`,
    );
    await waitFor(
      async () => /"status":"RUNNING","progress":0\.\d+/.test(await response(page)),
      'a live progress update in the response pane',
      PAGE_WAIT_MS,
    );
    // The subscription came as a server-sent event stream; nothing opened a WebSocket.
    expect(contentTypes.some((type) => type.startsWith('text/event-stream'))).toBe(true);
    expect(sockets).toEqual([]);

    const other = await newPage();
    await run(
      other,
      `mutation Cancel { cancelOperation(input: { id: "${id}", reason: "from GraphiQL" }) { __typename } }`,
    );
    await waitFor(
      async () => (await response(other)).includes('"__typename":"CancelOperationSuccess"'),
      'the Cancel mutation to answer',
      PAGE_WAIT_MS,
    );
    await waitFor(
      async () => (await response(page)).includes('"status":"CANCELLED"'),
      'the watching page to show CANCELLED',
      PAGE_WAIT_MS,
    );
    // The token was sent from the headers editor, and nothing kept it in the browser's storage.
    for (const tab of [page, other]) {
      // GraphiQL keeps its tabs and editors in storage a moment after they change.
      await waitFor(
        async () => (await storedText(tab)).includes('graphiql:'),
        "GraphiQL's own state in storage",
        PAGE_WAIT_MS,
      );
      const stored = await storedText(tab);
      expect(stored).toContain('graphiql:');
      expect(stored).not.toContain('Bearer');
      expect(stored).not.toContain(String(server.app.devToken));
    }
    await page.close();
    await other.close();
  },
);
