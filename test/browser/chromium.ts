import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Chromium executable the browser tests launch, and where it came from. */
    chromium: { path: string; source: string };
  }
}

/** Debian's Chromium, used when it is installed. */
const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/**
 * The Chromium that the `@sparticuz/chromium` package ships brotli-compressed inside itself (no
 * download at install or run time), unpacked once per package version into a folder of the
 * system's temporary directory and reused by later runs.
 *
 * The package always unpacks into `os.tmpdir()` and trusts whatever it finds there, so concurrent
 * runs (two checkouts, two test processes) could launch each other's half-written binary, and a
 * folder left by another version would be taken as this one. It therefore unpacks into a fresh
 * private folder (TMPDIR pointed at it for the call) that is then renamed into place in one step;
 * a run that loses the rename uses the winner's folder.
 */
async function packagedChromium(): Promise<string> {
  const require = createRequire(import.meta.url);
  const packageRoot = join(dirname(require.resolve('@sparticuz/chromium')), '..', '..');
  const { version } = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {
    version: string;
  };
  const home = join(tmpdir(), `longrun-chromium-${version}`);
  const executable = join(home, 'chromium');
  if (existsSync(executable)) return executable;

  const staging = mkdtempSync(join(tmpdir(), 'longrun-chromium-unpacking-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = staging;
  try {
    const { default: Chromium } = await import('@sparticuz/chromium');
    // Software WebGL (SwiftShader) is unpacked beside the binary, where Chromium looks for it.
    const unpacked = await Chromium.executablePath();
    if (unpacked !== join(staging, 'chromium'))
      throw new Error(`@sparticuz/chromium unpacked to ${unpacked}, not into ${staging}`);
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
  try {
    renameSync(staging, home);
  } catch (error) {
    // Another run finished first: its folder is complete (it was renamed whole), use it.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(executable)) throw error;
  }
  return executable;
}

/**
 * Vitest global setup: picks the Chromium for the browser tests once per run. `CHROMIUM_PATH`
 * wins; else Debian's `/usr/bin/chromium` when installed; else the one `@sparticuz/chromium` ships.
 */
export default async function chooseChromium(project: TestProject): Promise<void> {
  const override = process.env.CHROMIUM_PATH;
  if (override) {
    if (!existsSync(override)) throw new Error(`CHROMIUM_PATH=${override} does not exist.`);
    project.provide('chromium', { path: override, source: 'CHROMIUM_PATH' });
  } else if (existsSync(SYSTEM_CHROMIUM)) {
    project.provide('chromium', { path: SYSTEM_CHROMIUM, source: 'system' });
  } else {
    project.provide('chromium', { path: await packagedChromium(), source: '@sparticuz/chromium' });
  }
}
