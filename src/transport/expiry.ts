/** The longest delay `setTimeout` honours; longer ones fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** What runs at a deadline: a method rather than a closure per deadline. */
export interface Expiring {
  expire(): void;
}

/** A deadline taken with `deadline`; cancelling it twice, or after it fired, is harmless. */
export interface Deadline {
  cancel(): void;
}

class Entry implements Deadline {
  constructor(
    readonly when: number,
    readonly target: Expiring,
    /** Place in the heap; -1 once fired or cancelled. */
    public index: number,
  ) {}

  cancel(): void {
    if (this.index >= 0) deadlines.remove(this);
  }
}

/**
 * Every deadline of the process in one binary heap ordered by time, behind one armed timer: a
 * token expiry per socket and stream costs a small entry instead of a `Timeout` and its closures.
 * Like Node's own timer list it is the process's, whichever app in it takes a deadline.
 */
class Deadlines {
  readonly #heap: Entry[] = [];
  #timer: NodeJS.Timeout | null = null;
  /** When the armed timer is due; Infinity with none. */
  #armedFor = Number.POSITIVE_INFINITY;

  add(when: number, target: Expiring): Entry {
    const entry = new Entry(when, target, this.#heap.length);
    this.#heap.push(entry);
    this.#up(entry.index);
    if (when < this.#armedFor) this.#arm();
    return entry;
  }

  remove(entry: Entry): void {
    const heap = this.#heap;
    const index = entry.index;
    entry.index = -1;
    const last = heap.pop();
    if (last === undefined || last === entry) return;
    heap[index] = last;
    last.index = index;
    this.#down(index);
    this.#up(last.index);
    // A timer armed for a removed head just finds nothing due and arms for the next.
  }

  #arm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    const head = this.#heap[0];
    if (head === undefined) {
      this.#timer = null;
      this.#armedFor = Number.POSITIVE_INFINITY;
      return;
    }
    const delay = Math.min(Math.max(head.when - Date.now(), 1), MAX_TIMEOUT_MS);
    this.#armedFor = head.when;
    this.#timer = setTimeout(() => this.#run(), delay);
    this.#timer.unref();
  }

  #run(): void {
    this.#timer = null;
    const now = Date.now();
    try {
      for (let head = this.#heap[0]; head !== undefined && head.when <= now; head = this.#heap[0]) {
        this.remove(head);
        head.target.expire();
      }
    } finally {
      this.#arm();
    }
  }

  #up(start: number): void {
    const heap = this.#heap;
    let index = start;
    const entry = heap[index] as Entry;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex] as Entry;
      if (parent.when <= entry.when) break;
      heap[index] = parent;
      parent.index = index;
      index = parentIndex;
    }
    heap[index] = entry;
    entry.index = index;
  }

  #down(start: number): void {
    const heap = this.#heap;
    let index = start;
    const entry = heap[index] as Entry;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= heap.length) break;
      const right = heap[child + 1];
      if (right !== undefined && right.when < (heap[child] as Entry).when) child++;
      const smaller = heap[child] as Entry;
      if (smaller.when >= entry.when) break;
      heap[index] = smaller;
      smaller.index = index;
      index = child;
    }
    heap[index] = entry;
    entry.index = index;
  }
}

const deadlines = new Deadlines();

/** The deadline of a target that expired when it was taken. */
const PASSED: Deadline = { cancel() {} };

/**
 * Calls `target.expire()` at `when` (at once, before returning, when it has passed). Deadlines
 * past `setTimeout`'s 24.8-day limit wait in steps.
 */
export function deadline(when: Date, target: Expiring): Deadline {
  const time = when.getTime();
  if (time - Date.now() <= 0) {
    target.expire();
    return PASSED;
  }
  return deadlines.add(time, target);
}

/** Calls `fire` at `when` (at once when it has passed). Returns a function that cancels it. */
export function at(when: Date, fire: () => void): () => void {
  const taken = deadline(when, { expire: fire });
  return () => taken.cancel();
}
