import { NotFoundError, SubscriberTooSlowError, ValidationError } from '../operations/errors.js';
import type { OperationRecord } from '../operations/model.js';
import { PUSH, type Pushable, type Pushing, pushFrom, type Sink } from '../operations/push.js';
import { isDone } from '../operations/status.js';
import { builder } from './builder.js';
import { badUserInput, notFound, subscriberTooSlow } from './codes.js';
import type { EventIds } from './context.js';
import { parseOperationId } from './ids.js';
import { OperationRef, OperationStatusEnum } from './operation.js';

/**
 * Tells the transport which revision is leaving (SSE numbers its events with it), and whether it
 * ends the stream (`last`: a terminal state of a single-operation stream).
 */
function sending(
  op: OperationRecord,
  eventIds: EventIds | undefined,
  last: boolean,
): OperationRecord {
  eventIds?.sending(op.revision, last);
  return op;
}

/**
 * The feed's stream, with a reader cut off for falling behind told so in GraphQL's form. A class,
 * so an idle subscription holds one small object rather than closures; it pushes when the feed's
 * stream does (it is then its sink).
 */
class WithErrorCodes
  implements
    AsyncIterableIterator<OperationRecord>,
    Pushable<OperationRecord>,
    Sink<OperationRecord>
{
  readonly #stream: AsyncIterableIterator<OperationRecord>;
  #sink: Sink<OperationRecord> | null = null;

  constructor(stream: AsyncIterableIterator<OperationRecord>) {
    this.#stream = stream;
  }

  next(): Promise<IteratorResult<OperationRecord>> {
    return this.#stream.next().catch(withErrorCode);
  }

  async return(): Promise<IteratorResult<OperationRecord>> {
    return (await this.#stream.return?.()) ?? { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  [PUSH](sink: Sink<OperationRecord>): Pushing | null {
    this.#sink = sink;
    return pushFrom(this.#stream, this);
  }

  onItem(record: OperationRecord): boolean {
    return this.#sink?.onItem(record) ?? false;
  }

  onEnd(): void {
    this.#sink?.onEnd();
  }

  onError(error: unknown): void {
    this.#sink?.onError(codedError(error));
  }
}

/** A reader cut off for falling behind as GraphQL's SUBSCRIBER_TOO_SLOW; any other as it is. */
function codedError(error: unknown): unknown {
  return error instanceof SubscriberTooSlowError ? subscriberTooSlow(error.message) : error;
}

function withErrorCode(error: unknown): never {
  throw codedError(error);
}

function withErrorCodes(
  stream: AsyncIterableIterator<OperationRecord>,
): AsyncIterableIterator<OperationRecord> {
  return new WithErrorCodes(stream);
}

builder.subscriptionType({
  fields: (t) => ({
    operationUpdated: t.field({
      type: OperationRef,
      description:
        "The operation's current state at once, then every later change in revision\norder; completes after the terminal state. Error NOT_FOUND when the viewer may\nnot see it.",
      authScopes: { authenticated: true },
      args: {
        id: t.arg.id({ required: true }),
        afterRevision: t.arg.int({
          required: false,
          description:
            'Resume: replay every revision after this one from the log (status changes never\ncoalesced), then go on live, instead of starting with the current state.',
        }),
      },
      subscribe: async (_root, { id, afterRevision }, context) => {
        const { operations, viewer, eventIds } = context;
        if (afterRevision != null && afterRevision < 0) {
          throw badUserInput('afterRevision must be 0 or more.', 'afterRevision');
        }
        // A reconnecting EventSource says what it saw last; that is the later of the two.
        const lastEventId = eventIds?.lastEventId ?? null;
        const after =
          lastEventId === null ? afterRevision : Math.max(lastEventId, afterRevision ?? 0);
        try {
          return withErrorCodes(
            await operations.watch(viewer, parseOperationId(id), id, context.streamSignal(), after),
          );
        } catch (error) {
          if (error instanceof NotFoundError) throw notFound(id);
          if (error instanceof ValidationError) throw badUserInput(error.message, error.field);
          throw error;
        }
      },
      resolve: (op, _args, { eventIds }) => sending(op, eventIds, isDone(op.status)),
    }),
    operationsUpdated: t.field({
      type: OperationRef,
      description: 'Every change of every operation the viewer may see (a dashboard feed).',
      authScopes: { authenticated: true },
      args: {
        status: t.arg({ type: [OperationStatusEnum], required: false }),
        kind: t.arg.string({ required: false }),
      },
      subscribe: async (_root, { status, kind }, context) => {
        const { operations, viewer } = context;
        try {
          return withErrorCodes(
            await operations.watchAll(viewer, { statuses: status, kind }, context.streamSignal()),
          );
        } catch (error) {
          if (error instanceof ValidationError) throw badUserInput(error.message, error.field);
          throw error;
        }
      },
      // Revisions count per operation, so an EventSource cannot resume this feed from one.
      resolve: (op, _args, { eventIds }) => sending(op, eventIds, false),
    }),
  }),
});
