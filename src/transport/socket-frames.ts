import type { ExecutionResult, GraphQLError, GraphQLFormattedError } from 'graphql';
import type { WebSocket } from 'ws';

/** An error as sent, without `extensions.http`: a status for HTTP responses, not for sockets. */
export function withoutHttpStatus(error: GraphQLError): GraphQLFormattedError {
  const { extensions, ...formatted } = error.toJSON();
  if (extensions === undefined || !('http' in extensions)) return error.toJSON();
  const { http: _status, ...rest } = extensions;
  return Object.keys(rest).length === 0 ? formatted : { ...formatted, extensions: rest };
}

/** A result's `next` payload as graphql-ws would send it, `errors` without their HTTP status. */
function payloadOf(result: ExecutionResult): unknown {
  const { errors, ...rest } = result;
  return errors === undefined ? rest : { ...rest, errors: errors.map(withoutHttpStatus) };
}

/** Distinct subscription ids whose frame is kept per result (clients mostly number theirs). */
const MAX_FRAMES_PER_RESULT = 16;

/** One result's payload as JSON text, and the frames already made of it per subscription id. */
interface Serialized {
  readonly text: string;
  readonly frames: Map<string, Buffer>;
}

/**
 * Each result's serialization. Subscribers that asked for the same thing share one result object
 * (`shared-execution.ts`), so it is serialized once for all of them, and the subscribers that
 * gave their subscription the same id share one frame; the entry goes with the result.
 */
const serialized = new WeakMap<ExecutionResult, Serialized>();

/**
 * The graphql-transport-ws `next` message that carries `result` to subscription `id`, as the
 * bytes of one text frame.
 */
export function nextFrame(id: string, result: ExecutionResult): Buffer {
  let entry = serialized.get(result);
  if (entry === undefined) {
    entry = { text: JSON.stringify(payloadOf(result)), frames: new Map() };
    serialized.set(result, entry);
  }
  let frame = entry.frames.get(id);
  if (frame === undefined) {
    frame = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":${entry.text}}`);
    if (entry.frames.size < MAX_FRAMES_PER_RESULT) entry.frames.set(id, frame);
  }
  return frame;
}

const TEXT = { binary: false } as const;

/**
 * Bytes a socket may have waiting in memory before a stream that writes to it waits for them to
 * reach the kernel: a slow client holds at most this much (and one frame per subscription), and
 * its streams' queues coalesce the rest (`UpdateQueue`).
 */
const HIGH_WATER_BYTES = 64 * 1024;

/**
 * Writes `frame` as a text message on `socket`. The promise, made only when the socket already
 * has `HIGH_WATER_BYTES` waiting, resolves once the frame has been written (or the socket has
 * closed).
 */
export function sendFrame(socket: WebSocket, frame: Buffer): Promise<void> | undefined {
  if (socket.readyState !== socket.OPEN) return undefined;
  if (socket.bufferedAmount < HIGH_WATER_BYTES) {
    socket.send(frame, TEXT);
    return undefined;
  }
  return new Promise((resolve) => socket.send(frame, TEXT, () => resolve()));
}
