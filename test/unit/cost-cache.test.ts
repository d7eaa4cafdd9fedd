import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.js';
import { measureCost } from '../../src/transport/cost-limit.js';

describe('measureCost', () => {
  it('measures one document afresh for other variables or another operation, and alike for the same', () => {
    const document = parse(`
      query Page($n: Int) { operations(first: $n) { edges { node { id } } } }
      query Small { viewer { id } }
    `);
    const cost = (variables: Record<string, unknown>, operationName = 'Page') =>
      measureCost({ schema, document, variables, operationName });
    const ten = cost({ n: 10 });
    const hundred = cost({ n: 100 });
    expect(hundred).toBeGreaterThan(ten ?? Number.POSITIVE_INFINITY);
    expect(cost({ n: 10 })).toBe(ten);
    expect(cost({ n: 100 })).toBe(hundred);
    expect(cost({}, 'Small')).toBeLessThan(ten ?? 0);
    // An unknown operation cannot be measured, every time.
    expect(cost({ n: 10 }, 'Missing')).toBeNull();
    expect(cost({ n: 10 }, 'Missing')).toBeNull();
  });

  it('answers alike for variables that differ only in strings, and never remembers an unmeasurable one', () => {
    const document = parse(`
      query Page($n: Int, $status: [OperationStatus!]) {
        operations(first: $n, status: $status) { edges { node { id } } }
      }
    `);
    const cost = (variables: Record<string, unknown>) =>
      measureCost({ schema, document, variables, operationName: 'Page' });
    const running = cost({ n: 10, status: ['RUNNING'] });
    expect(running).not.toBeNull();
    expect(cost({ n: 10, status: ['PENDING'] })).toBe(running);
    // Not an OperationStatus: not measurable, and it does not stand for the valid ones after it.
    expect(cost({ n: 20, status: ['NOPE'] })).toBeNull();
    expect(cost({ n: 20, status: ['PENDING'] })).toBeGreaterThan(
      running ?? Number.POSITIVE_INFINITY,
    );
  });
});
