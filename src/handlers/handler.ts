import type { z } from 'zod';
import type { JsonValue } from '../operations/model.js';
import { parseWithSchema } from './parse-input.js';

/** What a running handler gets besides its input. */
export interface HandlerContext {
  /** Fires on cancel, on timeout and on shutdown; `signal.reason` says which. */
  readonly signal: AbortSignal;
  /**
   * Reports progress (0..1, clamped; null keeps the last) and an optional message. Resolves once
   * stored; never rejects (a report after the operation ended is dropped).
   */
  progress(value: number | null, message?: string | null): Promise<void>;
  /** The raw id of the operation being run. */
  readonly operationId: string;
  /** The `sub` of the user who started it. */
  readonly ownerId: string;
}

/**
 * The code behind one `kind`. `parseInput` validates the raw JSON input at start (throw a
 * `ValidationError` with `field` to reject it; nothing is stored then); `run` does the work and
 * resolves with the JSON result, honouring `signal`.
 */
export interface Handler<I = unknown, R extends JsonValue | undefined = JsonValue | undefined> {
  readonly kind: string;
  /** What the kind does, for `operationKinds`, the dashboard and `longrun kinds`. */
  readonly description?: string | undefined;
  /**
   * The zod schema `parseInput` checks the raw input with; `operationKinds` publishes it as JSON
   * Schema. A handler without one is listed with a schema that admits any JSON.
   */
  readonly inputSchema?: z.ZodType | undefined;
  /** An input the kind accepts (checked with `parseInput` when the handler is registered). */
  readonly exampleInput?: JsonValue | undefined;
  parseInput(raw: JsonValue | null): I;
  run(input: I, context: HandlerContext): Promise<R>;
}

/** A handler described by a zod schema: `parseInput` is derived from it. */
export interface SchemaHandlerDefinition<S extends z.ZodType, R extends JsonValue | undefined> {
  readonly kind: string;
  readonly description?: string | undefined;
  /** Validates the raw input; its first issue becomes a `ValidationError` on `input.<path>`. */
  readonly inputSchema: S;
  readonly exampleInput?: JsonValue | undefined;
  run(input: z.output<S>, context: HandlerContext): Promise<R>;
}

/**
 * Declares a handler. Give `inputSchema` (a zod schema) and its input is validated with it and
 * published as JSON Schema by `operationKinds`; or give `parseInput` to validate by hand.
 */
export function defineHandler<S extends z.ZodType, R extends JsonValue | undefined>(
  definition: SchemaHandlerDefinition<S, R>,
): Handler<z.output<S>, R>;
export function defineHandler<I, R extends JsonValue | undefined>(
  handler: Handler<I, R>,
): Handler<I, R>;
export function defineHandler<I, R extends JsonValue | undefined>(
  definition: Handler<I, R> | SchemaHandlerDefinition<z.ZodType<I>, R>,
): Handler<I, R> {
  if ('parseInput' in definition) return definition;
  const schema = definition.inputSchema;
  return { ...definition, parseInput: (raw) => parseWithSchema(schema, raw) };
}
