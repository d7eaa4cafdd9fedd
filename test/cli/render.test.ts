import { describe, expect, it } from 'vitest';
import {
  age,
  liveLine,
  outcomeLine,
  percent,
  plainLine,
  progressBar,
  type RenderedOperation,
  table,
} from '../../src/cli/render.js';

const running: RenderedOperation = {
  status: 'RUNNING',
  progress: 0.6,
  message: 'step 6 of 10',
  updatedAt: '2026-01-02T03:04:05.678Z',
  cancelledBy: null,
  cancelReason: null,
  error: null,
};

describe('progressBar', () => {
  it('fills one cell per 1/width of progress, rounding down', () => {
    expect(progressBar(0.6, 10)).toBe('[██████░░░░]');
    expect(progressBar(0, 10)).toBe('[░░░░░░░░░░]');
    expect(progressBar(1, 10)).toBe('[██████████]');
    expect(progressBar(0.99, 10)).toBe('[█████████░]');
    expect(progressBar(0.7, 10)).toBe('[███████░░░]');
    expect(progressBar(0.5, 4)).toBe('[██░░]');
  });

  it('is as wide as asked whatever the progress, and empty without one', () => {
    for (const width of [1, 7, 20, 33]) {
      for (const progress of [null, -1, 0, 0.001, 0.333, 0.5, 0.999, 1, 2, Number.NaN]) {
        expect([...progressBar(progress, width)]).toHaveLength(width + 2);
      }
    }
    expect(progressBar(null, 5)).toBe('[░░░░░]');
    expect(progressBar(-0.5, 5)).toBe('[░░░░░]');
    expect(progressBar(1.5, 5)).toBe('[█████]');
    expect(progressBar(0.5)).toBe(`[${'█'.repeat(10)}${'░'.repeat(10)}]`);
  });
});

describe('percent', () => {
  it('rounds down to whole percents, so only done is 100%', () => {
    expect(percent(0.6)).toBe('60%');
    expect(percent(0.57)).toBe('57%');
    expect(percent(0.999)).toBe('99%');
    expect(percent(1)).toBe('100%');
    expect(percent(0)).toBe('0%');
    expect(percent(null)).toBe('-');
  });
});

describe('liveLine', () => {
  it('shows the bar, the percentage, the status and the message', () => {
    expect(liveLine(running, { barWidth: 10 })).toBe('[██████░░░░]  60%  RUNNING  step 6 of 10');
    expect(liveLine({ ...running, progress: null, message: null }, { barWidth: 4 })).toBe(
      '[░░░░]    -  RUNNING',
    );
  });

  it('never fills the last column, so the terminal does not wrap it', () => {
    const line = liveLine({ ...running, message: 'x'.repeat(200) }, { columns: 40, barWidth: 10 });
    expect([...line]).toHaveLength(39);
    expect(line.endsWith('…')).toBe(true);
    expect(liveLine(running, { columns: 80, barWidth: 10 })).toBe(
      '[██████░░░░]  60%  RUNNING  step 6 of 10',
    );
  });

  it('narrows the bar on a narrow terminal, keeping the status in view', () => {
    expect(liveLine(running, { columns: 120 })).toBe(
      `[${'█'.repeat(12)}${'░'.repeat(8)}]  60%  RUNNING  step 6 of 10`,
    );
    expect(liveLine(running, { columns: 50 })).toBe('[██████░░░░]  60%  RUNNING  step 6 of 10');
    expect(liveLine({ ...running, status: 'SUCCEEDED', progress: 1 }, { columns: 30 })).toBe(
      '[█████] 100%  SUCCEEDED  ste…',
    );
  });
});

describe('plainLine', () => {
  it('is <iso time> <status> <progress%> <message>', () => {
    expect(plainLine(running)).toBe('2026-01-02T03:04:05.678Z RUNNING 60% step 6 of 10');
    expect(plainLine({ ...running, status: 'PENDING', progress: null, message: null })).toBe(
      '2026-01-02T03:04:05.678Z PENDING -',
    );
  });
});

describe('outcomeLine', () => {
  it('says who cancelled and why', () => {
    const cancelled = {
      ...running,
      status: 'CANCELLED' as const,
      cancelledBy: 'alice',
      cancelReason: 'not needed',
      error: { code: 'CANCELLED', message: 'not needed' },
    };
    expect(outcomeLine(cancelled)).toBe('CANCELLED by alice: "not needed"');
    expect(outcomeLine({ ...cancelled, cancelReason: null })).toBe('CANCELLED by alice');
    expect(
      outcomeLine({
        ...cancelled,
        error: { code: 'CANCEL_FORCED', message: 'The handler did not stop.' },
      }),
    ).toBe('CANCELLED by alice: "not needed" (CANCEL_FORCED: The handler did not stop.)');
  });

  it('gives the error code and message of a failure', () => {
    expect(
      outcomeLine({
        ...running,
        status: 'FAILED',
        error: { code: 'TIMEOUT', message: 'Too slow.' },
      }),
    ).toBe('FAILED (TIMEOUT): Too slow.');
  });
});

describe('age', () => {
  it('uses the largest whole unit up to two days, then days', () => {
    const now = Date.parse('2026-01-10T00:00:00.000Z');
    const ago = (ms: number) => new Date(now - ms).toISOString();
    expect(age(ago(0), now)).toBe('0s');
    expect(age(ago(59_999), now)).toBe('59s');
    expect(age(ago(60_000), now)).toBe('1m');
    expect(age(ago(3_600_000), now)).toBe('1h');
    expect(age(ago(47 * 3_600_000), now)).toBe('47h');
    expect(age(ago(3 * 86_400_000), now)).toBe('3d');
    expect(age(ago(-5_000), now)).toBe('0s');
  });
});

describe('table', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(
      table([
        ['ID', 'STATUS', 'AGE'],
        ['a', 'RUNNING', '5s'],
        ['abcd', '█', '12m'],
      ]),
    ).toBe(['ID    STATUS   AGE', 'a     RUNNING  5s', 'abcd  █        12m'].join('\n'));
  });
});
