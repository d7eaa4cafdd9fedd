import { ValidationError } from './errors.js';

/**
 * NUL, or a surrogate without its pair. Neither survives UTF-8: PostgreSQL refuses NUL in text
 * and in JSON, and a lone surrogate is written as U+FFFD, so two different strings would become
 * one. Refused everywhere, so SQLite and PostgreSQL answer the same.
 */
const NOT_TEXT = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** How deep JSON input may nest objects and arrays (SEMANTICS.md, "Bad input"). */
export const MAX_JSON_DEPTH = 32;

/** True when `text` holds no NUL and no lone surrogate: it is stored and sent as it was given. */
export function isWellFormedText(text: string): boolean {
  return !NOT_TEXT.test(text);
}

const NOT_TEXT_MESSAGE = 'must be well-formed text (no NUL character, no unpaired surrogate)';

/** Throws a `ValidationError` for `field` when `value` is a string that is not well-formed text. */
export function requireWellFormedText(value: string | null | undefined, field: string): void {
  if (typeof value === 'string' && !isWellFormedText(value)) {
    throw new ValidationError(`${field}: ${NOT_TEXT_MESSAGE}.`, field);
  }
}

/**
 * Checks JSON input before anything walks it recursively: at most `MAX_JSON_DEPTH` levels of
 * objects and arrays, and every string and key well-formed text. Iterative, so no depth of input
 * can exhaust the stack here. Throws a `ValidationError` naming the path (`input.a.0`).
 */
export function requireWellFormedJson(value: unknown, field: string): void {
  const pending: Array<{ value: unknown; path: string; depth: number }> = [
    { value, path: field, depth: 0 },
  ];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { value: current, path, depth } = item;
    if (typeof current === 'string') {
      requireWellFormedText(current, path);
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) {
      throw new ValidationError(
        `${field}: is nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays.`,
        field,
      );
    }
    const entries = Array.isArray(current)
      ? current.map((child, index) => [String(index), child] as const)
      : Object.entries(current);
    for (const [key, child] of entries) {
      if (!isWellFormedText(key)) {
        throw new ValidationError(`${path}: has a key that ${NOT_TEXT_MESSAGE}.`, path);
      }
      pending.push({ value: child, path: `${path}.${key}`, depth: depth + 1 });
    }
  }
}
