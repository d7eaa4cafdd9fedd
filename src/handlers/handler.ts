import type { JsonValue } from '../operations/model.js';

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
  parseInput(raw: JsonValue | null): I;
  run(input: I, context: HandlerContext): Promise<R>;
}

/** Declares a handler with its input type inferred from `parseInput`. */
export function defineHandler<I, R extends JsonValue | undefined>(
  handler: Handler<I, R>,
): Handler<I, R> {
  return handler;
}
