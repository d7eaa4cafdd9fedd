import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database } from './database.js';

/** Stands for the value of parameter `name` while a statement is built. */
class Slot {
  constructor(readonly name: string) {}
}

/** The values of a prepared statement's parameters, by name. */
type Values = Readonly<Record<string, unknown>>;

/** One parameter of the compiled statement: a named value or a constant of the builder. */
type Take = (values: Values) => unknown;

interface Compiled {
  readonly query: CompiledQuery;
  readonly takes: readonly Take[];
}

/**
 * A statement built and compiled by Kysely once per dialect, then run with new parameter values:
 * building and compiling a small query costs about as much as SQLite running it. `build` gets
 * stand-ins for the values (`slots.name`), used where the values go; it must build the same SQL
 * whatever the values, so a statement whose shape depends on them (a null written as such, an
 * optional condition) is one `Prepared` per shape. Kysely plugins do not see these statements
 * (the store uses none); the `log` option does.
 */
export class Prepared<V extends Values, R> {
  readonly #build: (db: Kysely<Database>, slots: V) => Compilable<R>;
  // Keyed by the dialect's traits: SQLite and PostgreSQL compile to different SQL.
  readonly #compiled = new WeakMap<object, Compiled>();

  constructor(build: (db: Kysely<Database>, slots: V) => Compilable<R>) {
    this.#build = build;
  }

  /** Runs the statement on `db` (or a transaction of it) with `values`. */
  execute(db: Kysely<Database>, dialect: object, values: V): Promise<QueryResult<R>> {
    let compiled = this.#compiled.get(dialect);
    if (compiled === undefined) {
      compiled = this.#compile(db);
      this.#compiled.set(dialect, compiled);
    }
    const parameters = compiled.takes.map((take) => take(values));
    return db.executeQuery<R>({ ...compiled.query, parameters } as CompiledQuery<R>);
  }

  #compile(db: Kysely<Database>): Compiled {
    const slots = new Proxy({} as V, {
      get: (_target, name) => new Slot(String(name)),
    });
    const query = this.#build(db, slots).compile();
    const takes = query.parameters.map((parameter): Take => {
      if (parameter instanceof Slot) return (values) => values[parameter.name];
      return () => parameter;
    });
    return { query, takes };
  }
}
