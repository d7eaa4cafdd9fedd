import { parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.js';
import { graphiqlExamples, graphqlLiteral } from '../../src/transport/graphiql-examples.js';

describe('GraphiQL examples from operationKinds', () => {
  it('writes JSON as GraphQL input literals', () => {
    expect(graphqlLiteral({ ms: 1000, tags: ['a', 'b"c'], nested: { on: true, none: null } })).toBe(
      '{ ms: 1000, tags: ["a", "b\\"c"], nested: { on: true, none: null } }',
    );
    expect(graphqlLiteral({})).toBe('{}');
    expect(graphqlLiteral({ 'not-a-name': 1 })).toBeNull();
  });

  it('starts each kind with its example, and every document is valid against the schema', () => {
    const text = graphiqlExamples([
      {
        kind: 'demo.sleep',
        description: 'Sleeps.',
        inputSchema: {},
        exampleInput: { ms: 10_000, steps: 20 },
      },
      { kind: 'demo-sleep', description: null, inputSchema: {}, exampleInput: null },
      { kind: 'odd.keys', description: null, inputSchema: {}, exampleInput: { 'a-b': 1 } },
    ]);
    expect(text).toContain('# demo.sleep: Sleeps.\nmutation StartDemoSleep {');
    expect(text).toContain(
      'startOperation(input: { kind: "demo.sleep", input: { ms: 10000, steps: 20 } })',
    );
    expect(text).toContain(
      'mutation StartDemoSleep2 {\n  startOperation(input: { kind: "demo-sleep" })',
    );
    expect(text).toContain('# Example input (JSON): {"a-b":1}\nmutation StartOddKeys {');
    expect(validate(schema, parse(text))).toEqual([]);
  });
});
