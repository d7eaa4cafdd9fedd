import { type ExecutionResult, GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { ErrorCode } from '../schema/codes.js';
import type { ErrorMasking } from './error-masking.js';

/** Why a live stream was ended from outside (the `reason` of its signal). */
export const StreamEnd = {
  /** The client closed the request: nobody is left to tell. */
  ClientGone: 'CLIENT_GONE',
  /** The viewer's token expired. */
  TokenExpired: 'TOKEN_EXPIRED',
  /** The server is stopping. */
  ShuttingDown: 'SHUTTING_DOWN',
} as const;
export type StreamEnd = (typeof StreamEnd)[keyof typeof StreamEnd];

/** What the SSE edge learns of one subscription request while it streams. */
export interface EventStreamState {
  /** Aborts, with a `StreamEnd` reason, when the stream is ended from outside. */
  readonly signal: AbortSignal;
  /** The viewer's token is not honoured from then on. */
  readonly expiresAt: Date;
  /** The revision of the operation state being sent: the event's `id:`. */
  revision: number | null;
  /** The last state sent was terminal: the stream ends with `complete`. */
  finished: boolean;
  /** The request's id, named with the errors the stream fails with. */
  readonly requestId: string | null;
}

/** Settings of the SSE edge. */
export interface EventStreamOptions {
  /** Per request, its stream state (set by the context factory). */
  readonly states: WeakMap<Request, EventStreamState>;
  /** Masks an error the stream failed with, as every other error is masked, and reports it. */
  readonly masking: ErrorMasking;
  /** A comment line goes out this often, so proxies keep the connection. @default 12_000 */
  readonly pingMs?: number;
}

/** The error a stream ended from outside goes out with, or null when it ended as it should. */
export function interruption(state: EventStreamState): GraphQLError | null {
  if (state.finished) return null;
  const reason: unknown = state.signal.aborted ? state.signal.reason : null;
  if (reason === StreamEnd.ShuttingDown) {
    return new GraphQLError('The server is shutting down; reconnect to resume.', {
      extensions: { code: ErrorCode.ServiceUnavailable },
    });
  }
  // The expiry timer may fire late on a busy loop; the cut-off at each event does not.
  if (reason === StreamEnd.TokenExpired || Date.now() >= state.expiresAt.getTime()) {
    return new GraphQLError('The token has expired; subscribe again with a fresh one.', {
      extensions: { code: ErrorCode.Unauthenticated },
    });
  }
  return null;
}

/** A result as it goes on the wire: errors as `toJSON` gives them, without yoga's internals. */
function serialize(result: ExecutionResult): string {
  if (!result.errors?.length) return JSON.stringify(result);
  return JSON.stringify({
    ...result,
    errors: result.errors.map((error) => {
      const { http: _http, unexpected: _unexpected, ...extensions } = error.extensions ?? {};
      const json = error.toJSON();
      return Object.keys(extensions).length > 0
        ? { ...json, extensions }
        : { ...json, extensions: undefined };
    }),
  });
}

function event(name: 'next' | 'complete', data: string, id: number | null = null): string {
  return `${id === null ? '' : `id: ${id}\n`}event: ${name}\ndata:${data === '' ? '' : ` ${data}`}\n\n`;
}

/**
 * Streams a subscription over Server-Sent Events (the graphql-sse "distinct connections" form that
 * yoga speaks), pulled one event at a time so that a slow reader holds the stream back and the
 * feed coalesces behind it. Beyond yoga's own processor: each operation state carries its revision
 * as `id:` (a reconnecting EventSource sends it back as `Last-Event-ID`), and a stream ended from
 * outside (token expiry, shutdown) or broken (a failed read) ends with an error event and no
 * `complete`, so clients retry or re-authenticate instead of believing it finished.
 */
export function useEventStreams(options: EventStreamOptions): Plugin {
  const { states, masking, pingMs = 12_000 } = options;
  return {
    onResultProcess({ request, result, setResultProcessor }) {
      const state = states.get(request);
      const accept = request.headers.get('accept') ?? '';
      if (!state || !isAsyncIterable(result) || !accept.includes('text/event-stream')) return;
      setResultProcessor(
        (iterable, fetchAPI) =>
          respond(iterable as AsyncIterable<ExecutionResult>, state, fetchAPI),
        'text/event-stream',
      );
    },
  };

  function respond(
    iterable: AsyncIterable<ExecutionResult>,
    state: EventStreamState,
    fetchAPI: { ReadableStream: typeof ReadableStream; Response: typeof Response },
  ): Response {
    const encoder = new TextEncoder();
    const iterator = iterable[Symbol.asyncIterator]();
    let ping: NodeJS.Timeout | undefined;
    let closed = false;
    const finish = (controller: ReadableStreamDefaultController<Uint8Array>, text: string) => {
      closed = true;
      clearInterval(ping);
      controller.enqueue(encoder.encode(text));
      controller.close();
    };
    const body = new fetchAPI.ReadableStream<Uint8Array>({
      start(controller) {
        // Some browsers hold a fetch until the first bytes arrive.
        controller.enqueue(encoder.encode(':\n\n'));
        ping = setInterval(() => {
          if (!closed && (controller.desiredSize ?? 0) > 0)
            controller.enqueue(encoder.encode(':\n\n'));
        }, pingMs);
        ping.unref();
      },
      async pull(controller) {
        let item: IteratorResult<ExecutionResult>;
        try {
          item = await iterator.next();
        } catch (error) {
          const failure = masking.mask(error);
          masking.report([failure], state.requestId);
          return finish(controller, event('next', serialize({ errors: [failure] })));
        }
        if (closed) return;
        if (!item.done) masking.report(item.value.errors, state.requestId);
        // yoga hands a stream that failed mid-way (a reader cut off for falling too far behind)
        // on as one last result of errors alone: that ends the stream as a failure does.
        if (!item.done && item.value.data == null && item.value.errors?.length) {
          return finish(controller, event('next', serialize(item.value)));
        }
        if (!item.done) {
          const id = state.revision;
          state.revision = null;
          controller.enqueue(encoder.encode(event('next', serialize(item.value), id)));
          return;
        }
        const error = interruption(state);
        finish(
          controller,
          error === null ? event('complete', '') : event('next', serialize({ errors: [error] })),
        );
      },
      async cancel() {
        closed = true;
        clearInterval(ping);
        await iterator.return?.();
      },
    });
    return new fetchAPI.Response(body, {
      status: 200,
      headers: {
        'content-type': 'text/event-stream',
        connection: 'keep-alive',
        'cache-control': 'no-cache',
        'content-encoding': 'none',
      },
    });
  }
}
