import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Locator,
  type Page,
} from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, inject } from 'vitest';
import type { Handler } from '../../src/handlers/handler.js';
import { NO_SHUTDOWN_GRACE, startTestServer, type TestServer } from '../helpers/server.js';
import { WAIT_MS } from '../helpers/wait.js';

/**
 * Chromium, headless: the one `test/browser/chromium.ts` chose for this run (`CHROMIUM_PATH`,
 * Debian's, or the one an npm package ships); never a downloaded browser. The machine has no
 * outside network: without the background-networking flags Chromium keeps trying to reach
 * Google's services.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: inject('chromium').path,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** axe-core, the accessibility rules engine, evaluated in the page (no script tag: the CSP holds). */
const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: string[];
}

/** WCAG 2.1 A and AA violations axe-core finds in the page as it is now. */
export async function accessibilityViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(options: unknown): Promise<{
            violations: {
              id: string;
              impact: string | null;
              help: string;
              nodes: { target: unknown[] }[];
            }[];
          }>;
        };
      }
    ).axe;
    const results = await axe.run({
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return results.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      targets: violation.nodes.map((node) => node.target.join(' ')),
    }));
  });
}

/** The row of operation `id` in the dashboard's table (with `status`, when given). */
export function row(page: Page, id: string, status?: string): Locator {
  const selector = `#operations-body tr[data-operation-id="${id}"]`;
  return page.locator(status ? `${selector}[data-status="${status}"]` : selector);
}

/** Waits for "Live" and for the first list to be in. */
export async function live(page: Page): Promise<void> {
  await page.getByRole('status').getByText('Live', { exact: true }).waitFor();
  await page.locator('#operations[aria-busy="false"]').waitFor();
}

/** Types `token` into the Token field, connects, and waits for the live stream and the list. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Connect' }).click();
  await live(page);
}

/**
 * Registers the hooks of a dashboard test file: one browser for the file, a fresh context per
 * page, and a failure after any test in which a page threw or broke the content security policy.
 * Returns `serve` (a server with the dashboard built for this run) and `openPage`.
 */
export function dashboardBrowser() {
  const dashboardDir = inject('dashboardDir');
  let browser: Browser | undefined;
  const contexts = new Set<BrowserContext>();
  const pageErrors: Error[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterEach(async () => {
    await Promise.all([...contexts].map((context) => context.close()));
    contexts.clear();
    const errors = pageErrors.splice(0);
    expect(errors.map((error) => error.message)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
  });

  return {
    /** A server serving the dashboard (with `handlers` besides demo.sleep); handlers stop at once on teardown. */
    serve(
      env: Record<string, string | undefined> = {},
      dataDir?: string,
      handlers: Handler[] = [],
    ): Promise<TestServer> {
      return startTestServer({ ...NO_SHUTDOWN_GRACE, ...env }, { dashboardDir, dataDir, handlers });
    },

    /** A fresh browser profile (its own sessionStorage) on the dashboard, or on `url`. */
    async openPage(server: TestServer, url = `${server.origin}/`): Promise<Page> {
      if (!browser) throw new Error('The browser has not started.');
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
      contexts.add(context);
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT_MS);
      page.on('pageerror', (error) => pageErrors.push(error));
      page.on('console', (message) => {
        if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) {
          pageErrors.push(new Error(message.text()));
        }
      });
      await page.goto(url);
      return page;
    },
  };
}
