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

/** A value met while walking JSON input, with how it was reached (its path is built on error). */
interface Visit {
  readonly value: unknown;
  readonly parent: Visit | null;
  readonly key: string;
  readonly depth: number;
}

function pathOf(visit: Visit): string {
  const keys: string[] = [];
  for (let at: Visit | null = visit; at !== null; at = at.parent) keys.push(at.key);
  return keys.reverse().join('.');
}

/**
 * Checks JSON input before anything walks it recursively: at most `MAX_JSON_DEPTH` levels of
 * objects and arrays, and every string and key well-formed text. Iterative, so no depth of input
 * can exhaust the stack here. Throws a `ValidationError` naming the path (`input.a.0`). Paths are
 * built only for the error. With `maxBytes`, it stops as soon as what it has walked is surely
 * longer than that as JSON (it counts strings and keys in UTF-8 bytes and one byte for every
 * other token, less than their JSON), so a megabyte of input costs what `maxBytes` of it costs;
 * the caller still measures the exact JSON of what passes.
 */
export function requireWellFormedJson(
  value: unknown,
  field: string,
  maxBytes = Number.POSITIVE_INFINITY,
): void {
  const pending: Visit[] = [{ value, parent: null, key: field, depth: 0 }];
  // Every value is counted one byte when met, before it is looked at; then a string adds its
  // other bytes and quotes, an object or array its second bracket, each member after the first
  // a comma, an object member its key.
  let bytes = 1;
  const add = (more: number) => {
    bytes += more;
    if (bytes > maxBytes) {
      throw new ValidationError(`${field}: is larger than ${maxBytes} bytes as JSON.`, field);
    }
  };
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { value: current, depth } = item;
    if (typeof current === 'string') {
      add(Buffer.byteLength(current) + 1);
      if (!isWellFormedText(current)) requireWellFormedText(current, pathOf(item));
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) {
      throw new ValidationError(
        `${field}: is nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays.`,
        field,
      );
    }
    add(1);
    if (Array.isArray(current)) {
      for (let index = 0; index < current.length; index++) {
        add(index === 0 ? 1 : 2);
        pending.push({ value: current[index], parent: item, key: String(index), depth: depth + 1 });
      }
      continue;
    }
    let comma = 0;
    for (const key of Object.keys(current)) {
      add(Buffer.byteLength(key) + 3 + comma); // its value, and its key's quotes and colon
      comma = 1;
      if (!isWellFormedText(key)) {
        const path = pathOf(item);
        throw new ValidationError(`${path}: has a key that ${NOT_TEXT_MESSAGE}.`, path);
      }
      pending.push({
        value: (current as Record<string, unknown>)[key],
        parent: item,
        key,
        depth: depth + 1,
      });
    }
  }
}
