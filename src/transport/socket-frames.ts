import type { Writable } from 'node:stream';
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

/**
 * A `next` message as the bytes of one whole unmasked text frame (RFC 6455, section 5.2), header
 * included: what every server socket sends for it is the same, so one buffer serves them all.
 */
export class TextFrame {
  /** The frame: header, then payload. */
  readonly bytes: Buffer;
  /** Where the payload starts in `bytes`. */
  readonly #payloadAt: number;

  constructor(text: string) {
    const length = Buffer.byteLength(text);
    // A 7-bit length, or 126 and 16 bits, or 127 and 64 bits.
    this.#payloadAt = length < 126 ? 2 : length < 0x1_00_00 ? 4 : 10;
    const bytes = Buffer.allocUnsafe(this.#payloadAt + length);
    bytes[0] = 0x81; // FIN, opcode 1 (text)
    if (length < 126) bytes[1] = length;
    else if (length < 0x1_00_00) {
      bytes[1] = 126;
      bytes.writeUInt16BE(length, 2);
    } else {
      bytes[1] = 127;
      bytes.writeBigUInt64BE(BigInt(length), 2);
    }
    bytes.write(text, this.#payloadAt, 'utf8');
    this.bytes = bytes;
  }

  /** The message alone, for `WebSocket.send`. */
  get payload(): Buffer {
    return this.bytes.subarray(this.#payloadAt);
  }
}

/** One result's payload as JSON text, and the frames already made of it per subscription id. */
interface Serialized {
  readonly text: string;
  readonly frames: Map<string, TextFrame>;
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
export function nextFrame(id: string, result: ExecutionResult): TextFrame {
  let entry = serialized.get(result);
  if (entry === undefined) {
    entry = { text: JSON.stringify(payloadOf(result)), frames: new Map() };
    serialized.set(result, entry);
  }
  let frame = entry.frames.get(id);
  if (frame === undefined) {
    frame = new TextFrame(`{"id":${JSON.stringify(id)},"type":"next","payload":${entry.text}}`);
    if (entry.frames.size < MAX_FRAMES_PER_RESULT) entry.frames.set(id, frame);
  }
  return frame;
}

const TEXT = { binary: false } as const;

/** What `ws` keeps of a server socket that `sendFrame` reads (ws 8). */
interface SocketInternals {
  readonly _socket?: Writable | null;
  readonly _sender?: { readonly _state?: number; readonly _queue?: readonly unknown[] } | null;
}

/** ws's sender state when it has nothing of its own in hand (not compressing, not reading a Blob). */
const SENDER_IDLE = 0;

/**
 * The TCP socket under `socket`, when a whole frame written to it now goes out in order with
 * everything ws has sent: ws's sender holds nothing back (it queues only while it compresses or
 * reads a Blob). Null otherwise, or should ws keep its state elsewhere.
 */
function streamOf(socket: WebSocket): Writable | null {
  const { _socket: stream, _sender: sender } = socket as unknown as SocketInternals;
  if (!stream || !sender || sender._state !== SENDER_IDLE || sender._queue?.length !== 0) {
    return null;
  }
  return stream;
}

/**
 * Bytes a socket may have waiting in memory before a stream that writes to it waits for them to
 * reach the kernel: a slow client holds at most this much (and one frame per subscription), and
 * its streams' queues coalesce the rest (`UpdateQueue`).
 */
const HIGH_WATER_BYTES = 64 * 1024;

/**
 * Writes `frame` on `socket`: its bytes straight to the TCP socket, one write and no per-socket
 * copy or header, when ws holds nothing back (`streamOf`); else through ws. The promise, made
 * only when the socket already has `HIGH_WATER_BYTES` waiting, resolves once the frame has been
 * written (or the socket has closed).
 */
export function sendFrame(socket: WebSocket, frame: TextFrame): Promise<void> | undefined {
  if (socket.readyState !== socket.OPEN) return undefined;
  const wait = socket.bufferedAmount >= HIGH_WATER_BYTES;
  const stream = streamOf(socket);
  if (stream !== null) {
    if (!wait) {
      stream.write(frame.bytes);
      return undefined;
    }
    return new Promise((resolve) => stream.write(frame.bytes, () => resolve()));
  }
  if (!wait) {
    socket.send(frame.payload, TEXT);
    return undefined;
  }
  return new Promise((resolve) => socket.send(frame.payload, TEXT, () => resolve()));
}
