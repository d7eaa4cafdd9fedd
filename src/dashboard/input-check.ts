import { type OutputUnit, Validator } from '@cfworker/json-schema';

/** Checks one kind's input against its JSON Schema in the page, before anything is sent. */
export interface InputCheck {
  /** Null when `value` is valid; else one sentence naming the field, e.g. `input.ms: …`. */
  problem(value: unknown): string | null;
}

// Keywords that only say "a part below failed": the part's own error says what is wrong.
const SUMMARY_KEYWORDS: ReadonlySet<string> = new Set([
  'anyOf',
  'oneOf',
  'allOf',
  'properties',
  'items',
  'prefixItems',
  'additionalItems',
  'unevaluatedProperties',
  'false',
]);

/** `#/a/b~1c` → `input.a.b/c`: the server's naming of a field inside `input`. */
function fieldName(instanceLocation: string): string {
  const parts = instanceLocation
    .replace(/^#\/?/, '')
    .split('/')
    .filter((part) => part !== '')
    .map((part) => decodeURIComponent(part).replaceAll('~1', '/').replaceAll('~0', '~'));
  return ['input', ...parts].join('.');
}

function depth(unit: OutputUnit): number {
  return unit.instanceLocation.split('/').length;
}

/** The most telling error: the deepest one that is not a summary, first of its depth. */
function mostSpecific(errors: readonly OutputUnit[]): OutputUnit | undefined {
  const telling = errors.filter((unit) => !SUMMARY_KEYWORDS.has(unit.keyword));
  const pool = telling.length > 0 ? telling : errors;
  return pool.reduce<OutputUnit | undefined>(
    (best, unit) => (best === undefined || depth(unit) > depth(best) ? unit : best),
    undefined,
  );
}

/**
 * A checker for `schema` (draft 2020-12). @cfworker/json-schema interprets the schema rather
 * than compiling it to code, so it runs under the dashboard's CSP, which allows no `eval`.
 */
export function createInputCheck(schema: unknown): InputCheck {
  let validator: Validator | null = null;
  return {
    problem(value) {
      validator ??= new Validator(
        schema as ConstructorParameters<typeof Validator>[0],
        '2020-12',
        false,
      );
      const result = validator.validate(value);
      if (result.valid) return null;
      const unit = mostSpecific(result.errors);
      if (unit === undefined) return 'input: does not match the kind’s schema.';
      return `${fieldName(unit.instanceLocation)}: ${unit.error}`;
    },
  };
}
