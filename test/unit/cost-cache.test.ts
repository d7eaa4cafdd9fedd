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
});
