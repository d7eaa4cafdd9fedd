import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/operations/errors.js';
import { MAX_JSON_DEPTH, requireWellFormedJson } from '../../src/operations/text.js';

const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

const thrown = (check: () => void) => {
  try {
    check();
  } catch (error) {
    return error;
  }
  return null;
};

describe('checking JSON input within a size', () => {
  it('never refuses a value as too large at its own JSON size', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => {
        requireWellFormedJson(value, 'input', bytesOf(value));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a value far over the size, naming the field, without walking all of it', () => {
    const wide = Object.fromEntries(
      Array.from({ length: 40_000 }, (_, i) => [`k${i}`, `value ${i}`]),
    );
    for (const value of [wide, Array.from({ length: 200_000 }, (_, i) => i), 'x'.repeat(70_000)]) {
      const error = thrown(() => requireWellFormedJson(value, 'input', 65_536));
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({
        field: 'input',
        message: 'input: is larger than 65536 bytes as JSON.',
      });
    }
  });

  it('still says an input is nested too deep, however long it is', () => {
    let deep: unknown = 'x'.repeat(70_000);
    for (let i = 0; i < 10_000; i++) deep = [deep];
    const error = thrown(() => requireWellFormedJson(deep, 'input', 65_536));
    expect(error).toMatchObject({
      field: 'input',
      message: `input: is nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays.`,
    });
  });
});
