import type { z } from 'zod';
import { ValidationError } from '../operations/errors.js';

/**
 * Parses a handler's input with a zod schema, turning the first issue into a `ValidationError`
 * whose `field` is the path inside `input` (e.g. `input.ms`).
 */
export function parseWithSchema<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.map(String) ?? [];
  const field = ['input', ...path].join('.');
  throw new ValidationError(`${field}: ${issue?.message ?? 'is invalid'}.`, field);
}
