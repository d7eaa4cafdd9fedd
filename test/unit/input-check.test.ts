import { describe, expect, it } from 'vitest';
import { createInputCheck } from '../../src/dashboard/input-check.js';
import { demoSleep } from '../../src/handlers/demo-sleep.js';
import type { Handler } from '../../src/handlers/handler.js';
import { createRegistry } from '../../src/handlers/registry.js';
import type { JsonValue } from '../../src/operations/model.js';

const schema = createRegistry([demoSleep as Handler]).describe()[0]?.inputSchema;

describe("the dashboard's input check against a kind's JSON Schema", () => {
  const check = createInputCheck(schema);

  it('accepts what demo.sleep accepts, null included', () => {
    const inputs: JsonValue[] = [
      null,
      {},
      { ms: 0 },
      { ms: 10_000, steps: 20, fail: 'x' },
      { fail: null },
    ];
    for (const input of inputs) {
      expect(check.problem(input)).toBeNull();
      expect(() => demoSleep.parseInput(input)).not.toThrow();
    }
  });

  it('names the deepest field at fault, as the server names it', () => {
    expect(check.problem({ ms: 3_600_001 })).toBe('input.ms: 3600001 is greater than 3600000.');
    expect(check.problem({ ms: 1.5 })).toBe(
      'input.ms: Instance type "number" is invalid. Expected "integer".',
    );
    expect(check.problem({ fail: 3 })).toBe(
      'input.fail: Instance type "number" is invalid. Expected "string".',
    );
    expect(check.problem({ nap: 1 })).toBe(
      'input: Property "nap" does not match additional properties schema.',
    );
    expect(check.problem([])).toBe('input: Instance type "array" is invalid. Expected "object".');
  });

  it('decodes JSON Pointer escapes in field names', () => {
    const nested = createInputCheck({
      type: 'object',
      properties: { 'a/b': { type: 'object', properties: { 'c~d': { type: 'integer' } } } },
    });
    expect(nested.problem({ 'a/b': { 'c~d': 'x' } })).toBe(
      'input.a/b.c~d: Instance type "string" is invalid. Expected "integer".',
    );
  });
});
