import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The folder the dashboard was built into for this run (index.html, assets/). */
    dashboardDir: string;
  }
}

const root = resolve(import.meta.dirname, '..', '..');

/**
 * Vitest global setup: builds the dashboard once per run into a temporary folder, so the tests
 * need no prior `npm run build` and never touch dist/.
 */
export default async function buildDashboard(project: TestProject): Promise<() => void> {
  const outDir = mkdtempSync(join(tmpdir(), 'longrun-dashboard-'));
  await build({
    configFile: join(root, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  project.provide('dashboardDir', outDir);
  return () => rmSync(outDir, { recursive: true, force: true });
}
