import type { Reporter, TestModule, Vitest } from 'vitest/node';

/**
 * Prints every skipped test that carries a note (`context.skip(note)`), one line each, after the
 * run. Vitest's default reporter shows those notes only when it lists each test (one file, or
 * `--reporter=verbose`), so a full run would otherwise say "3 skipped" and not why.
 */
export default class SkipNotesReporter implements Reporter {
  private vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    for (const testModule of testModules) {
      for (const test of testModule.children.allTests('skipped')) {
        const result = test.result();
        if (result.state !== 'skipped' || !result.note) continue;
        this.vitest?.logger.log(
          ` ↓ skipped ${testModule.relativeModuleId} > ${test.fullName}: ${result.note}`,
        );
      }
    }
  }
}
