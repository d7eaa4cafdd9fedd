import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type GraphQLError,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { PUSH, type Pushable, type Pushing, pushFrom, type Sink } from '../operations/push.js';
import type { Context } from '../schema/context.js';

type Executed = ExecutionResult | Promise<ExecutionResult>;

/** Masks an error that is not ours (`ErrorMasking.mask`): a GraphQL error either way. */
type Mask = (error: GraphQLError) => GraphQLError;

/**
 * Each event's results, per subscription key. The feed hands one record object to every stream
 * watching it, so the streams of one key share one execution of it; the entry goes with the
 * record once every stream has sent it.
 */
const executions = new WeakMap<object, Map<string, Executed>>();

/** A number per document text, so that keys stay short. */
const documentIds = new Map<string, number>();
const MAX_DOCUMENTS = 10_000;

function documentKey(document: DocumentNode): string | null {
  const text = document.loc?.source.body;
  if (text === undefined) return null;
  let id = documentIds.get(text);
  if (id === undefined) {
    if (documentIds.size >= MAX_DOCUMENTS) return null;
    id = documentIds.size + 1;
    documentIds.set(text, id);
  }
  return String(id);
}

/**
 * What makes two subscriptions see the same thing: the document, the operation, the variables
 * and the viewer (its id, role and watch grant; some fields read with the viewer's visibility).
 * Null when a stream must execute on its own: over SSE each event also numbers the stream
 * (`eventIds`), a side effect of its resolver.
 */
function subscriptionKey(args: ExecutionArgs): string | null {
  const context = args.contextValue as Partial<Context> | undefined;
  const viewer = context?.viewer;
  if (!viewer || context.eventIds !== undefined) return null;
  const document = documentKey(args.document);
  if (document === null) return null;
  return JSON.stringify([
    document,
    args.operationName ?? null,
    args.variableValues ?? null,
    viewer.id,
    viewer.isAdmin,
    viewer.watchOnly ?? null,
  ]);
}

/** `result` with the errors that are not ours masked; the same object when it has none. */
function maskedResult(result: ExecutionResult, mask: Mask): ExecutionResult {
  if (result.errors === undefined) return result;
  return { ...result, errors: result.errors.map(mask) };
}

/** Executes `event` for `args`, its errors masked. */
function executeMasked(args: ExecutionArgs, event: unknown, mask: Mask): Executed {
  const executed = execute({ ...args, rootValue: event });
  return isPromise(executed)
    ? executed.then((result) => maskedResult(result, mask))
    : maskedResult(executed, mask);
}

function executeShared(args: ExecutionArgs, key: string, event: unknown, mask: Mask): Executed {
  if (typeof event !== 'object' || event === null) return executeMasked(args, event, mask);
  let byKey = executions.get(event);
  if (byKey === undefined) {
    byKey = new Map();
    executions.set(event, byKey);
  }
  let result = byKey.get(key);
  if (result === undefined) {
    result = executeMasked(args, event, mask);
    byKey.set(key, result);
  }
  return result;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown }).then === 'function';
}

function yielded(value: ExecutionResult): IteratorYieldResult<ExecutionResult> {
  return { done: false, value };
}

/**
 * `source` with each event executed for the subscription `args` describes: shared with the
 * other streams of its `key`, or on its own without one; ending one ends the other. Errors that
 * are not ours are masked once per execution, so a pushed result (which envelop's per-event
 * masking never sees) is masked too. A class, so an idle subscription holds one small object
 * rather than closures; it pushes when its source does (it is then its sink), one result at a
 * time and in order.
 */
class ExecutedEvents
  implements
    AsyncIterableIterator<ExecutionResult>,
    Pushable<ExecutionResult>,
    Sink<unknown>,
    Pushing
{
  readonly #iterator: AsyncIterator<unknown>;
  readonly #args: ExecutionArgs;
  readonly #key: string | null;
  readonly #mask: Mask;
  #sink: Sink<ExecutionResult> | null = null;
  #source: Pushing | null = null;
  /** A pushed event's execution has not settled: the source waits for it. */
  #executing = false;

  constructor(source: AsyncIterable<unknown>, args: ExecutionArgs, key: string | null, mask: Mask) {
    this.#iterator = source[Symbol.asyncIterator]();
    this.#args = args;
    this.#key = key;
    this.#mask = mask;
  }

  #execute(event: unknown): Executed {
    return this.#key === null
      ? executeMasked(this.#args, event, this.#mask)
      : executeShared(this.#args, this.#key, event, this.#mask);
  }

  // Not an async function: an idle stream holds one pending promise, not a suspended frame; and
  // a shared result that is already there costs no second promise.
  next(): Promise<IteratorResult<ExecutionResult>> {
    return this.#iterator.next().then((step) => {
      if (step.done) return DONE;
      const executed = this.#execute(step.value);
      return isPromise(executed) ? executed.then(yielded) : yielded(executed);
    });
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.#iterator.return?.();
    return { done: true, value: undefined };
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.#iterator.return?.();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  [PUSH](sink: Sink<ExecutionResult>): Pushing | null {
    this.#sink = sink;
    this.#source = pushFrom(this.#iterator, this);
    if (this.#source === null) this.#sink = null;
    return this.#source === null ? null : this;
  }

  onItem(event: unknown): boolean {
    const sink = this.#sink;
    if (sink === null) return false;
    const executed = this.#execute(event);
    if (!isPromise(executed)) return sink.onItem(executed);
    this.#executing = true;
    executed.then(
      (result) => {
        this.#executing = false;
        if (sink.onItem(result)) this.#source?.resume();
      },
      (error: unknown) => sink.onError(error),
    );
    return false;
  }

  onEnd(): void {
    this.#sink?.onEnd();
  }

  onError(error: unknown): void {
    this.#sink?.onError(error);
  }

  resume(): void {
    if (!this.#executing) this.#source?.resume();
  }
}

/**
 * Subscriptions execute each event once per distinct subscription (document, variables, viewer)
 * instead of once per subscriber: a thousand sockets watching one operation cost one execution
 * of each of its changes. Every stream still gets every event of its own stream, in its order;
 * ownership stays decided when the stream opens (SEMANTICS.md, "Live updates").
 */
export function useSharedSubscriptionExecution(mask: Mask): Plugin {
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args) => {
        const source = await createSourceEventStream(args);
        if (!(Symbol.asyncIterator in source)) return source;
        return new ExecutedEvents(source, args, subscriptionKey(args), mask);
      });
    },
  };
}
