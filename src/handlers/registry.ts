import { z } from 'zod';
import type { JsonValue } from '../operations/model.js';
import type { Handler } from './handler.js';

/** A JSON Schema document, as `z.toJSONSchema` writes it. */
export type JsonSchema = { readonly [key: string]: JsonValue };

/** One kind as `operationKinds` lists it. */
export interface OperationKindInfo {
  readonly kind: string;
  readonly description: string | null;
  /** JSON Schema (draft 2020-12) of the raw input the kind accepts. */
  readonly inputSchema: JsonSchema;
  /** An input the kind accepts, or null when its handler gives none. */
  readonly exampleInput: JsonValue | null;
}

/** The handlers one process knows, by kind. */
export interface HandlerRegistry {
  /**
   * Adds a handler; throws when its kind is already registered, or when its own example input
   * is one its `parseInput` rejects.
   */
  register(handler: Handler<never, never> | Handler): void;
  /** The handler of `kind`, or undefined. */
  get(kind: string): Handler | undefined;
  /** The registered kinds, in registration order. */
  kinds(): string[];
  /** Every kind with its input's JSON Schema, description and example, in registration order. */
  describe(): readonly OperationKindInfo[];
}

const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/**
 * The JSON Schema of what a handler accepts as raw input: its zod schema's input side (defaults
 * make a property optional; a transform is described by what it reads). A check zod cannot
 * express in JSON Schema (a refinement, a custom type) is left out, so the schema may admit more
 * than `parseInput` does but never less; without a zod schema, any JSON is admitted.
 */
function inputJsonSchema(handler: Handler): JsonSchema {
  if (handler.inputSchema === undefined) return { $schema: DRAFT_2020_12 };
  return z.toJSONSchema(handler.inputSchema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
}

function describeKind(handler: Handler): OperationKindInfo {
  const example = handler.exampleInput ?? null;
  if (handler.exampleInput !== undefined) {
    try {
      handler.parseInput(example);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`The example input of kind "${handler.kind}" is rejected: ${reason}`, {
        cause: error,
      });
    }
  }
  return {
    kind: handler.kind,
    description: handler.description ?? null,
    inputSchema: inputJsonSchema(handler),
    exampleInput: example,
  };
}

/** A registry holding `handlers` to begin with. */
export function createRegistry(handlers: readonly Handler[] = []): HandlerRegistry {
  const byKind = new Map<string, { handler: Handler; info: OperationKindInfo }>();
  const registry: HandlerRegistry = {
    register(handler) {
      const h = handler as Handler;
      if (typeof h.kind !== 'string' || h.kind.trim() === '') {
        throw new Error('A handler needs a non-empty kind.');
      }
      if (byKind.has(h.kind)) throw new Error(`Kind "${h.kind}" is already registered.`);
      byKind.set(h.kind, { handler: h, info: describeKind(h) });
    },
    get: (kind) => byKind.get(kind)?.handler,
    kinds: () => [...byKind.keys()],
    describe: () => [...byKind.values()].map((entry) => entry.info),
  };
  for (const handler of handlers) registry.register(handler);
  return registry;
}
