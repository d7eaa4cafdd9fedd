/**
 * The yardstick of `npm run bench`: a minimal server speaking just enough of longrun's API to run
 * the same scenarios — no GraphQL, no store, no authentication. `startOperation` and
 * `cancelOperation` over HTTP are recognised by name, `operationUpdated` / `operationsUpdated`
 * over graphql-transport-ws by name, and every change is serialized once and written to each
 * subscriber's socket as one frame. What it measures is what Node and `ws` cost on this machine.
 *
 * Listens on PORT (127.0.0.1) and serves `/readyz` like the project.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';

interface LimitOperation {
  readonly id: string;
  status: string;
  revision: number;
  progress: number | null;
  updatedAt: string;
  timer: NodeJS.Timeout | null;
}

/** One subscription: its socket and its graphql-ws id, the frame's prefix made once. */
interface Subscriber {
  readonly socket: WebSocket;
  readonly prefix: string;
}

const operations = new Map<string, LimitOperation>();
const watchers = new Map<string, Set<Subscriber>>();
const feeds = new Set<Subscriber>();
let nextId = 1;

function view(op: LimitOperation): string {
  return JSON.stringify({
    id: op.id,
    status: op.status,
    revision: op.revision,
    progress: op.progress,
    updatedAt: op.updatedAt,
  });
}

function send(subscriber: Subscriber, field: string, opJson: string): void {
  subscriber.socket.send(`${subscriber.prefix}{"data":{"${field}":${opJson}}}}`);
}

/** Serializes the operation once and writes it to every subscriber of it and every feed. */
function publish(op: LimitOperation): void {
  const json = view(op);
  for (const subscriber of watchers.get(op.id) ?? []) send(subscriber, 'operationUpdated', json);
  for (const subscriber of feeds) send(subscriber, 'operationsUpdated', json);
}

function change(op: LimitOperation, patch: Partial<Pick<LimitOperation, 'status' | 'progress'>>) {
  Object.assign(op, patch);
  op.revision += 1;
  op.updatedAt = new Date().toISOString();
  publish(op);
}

function start(input: { ms?: number; steps?: number } | null): LimitOperation {
  const now = new Date().toISOString();
  const op: LimitOperation = {
    id: String(nextId++),
    status: 'RUNNING',
    revision: 1,
    progress: null,
    updatedAt: now,
    timer: null,
  };
  operations.set(op.id, op);
  const ms = input?.ms ?? 1000;
  const steps = input?.steps ?? 10;
  let step = 0;
  if (steps > 1) {
    op.timer = setInterval(() => {
      step += 1;
      change(op, { progress: step / steps });
      if (step >= steps - 1 && op.timer) clearInterval(op.timer);
    }, ms / steps);
  }
  return op;
}

function cancel(op: LimitOperation): void {
  if (op.status !== 'RUNNING') return;
  if (op.timer) clearInterval(op.timer);
  change(op, { status: 'CANCELLING' });
  // The handler stops on its signal a moment later.
  setImmediate(() => {
    change(op, { status: 'CANCELLED' });
    watchers.delete(op.id);
  });
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function graphql(req: IncomingMessage, res: ServerResponse, body: string): void {
  let request: { query?: string; variables?: Record<string, { id?: string; input?: never }> };
  try {
    request = JSON.parse(body);
  } catch {
    answer(res, 400, { errors: [{ message: 'bad JSON' }] });
    return;
  }
  const query = request.query ?? '';
  const input = request.variables?.input;
  if (query.includes('startOperation')) {
    const op = start(
      (input as { input?: { ms?: number; steps?: number } } | undefined)?.input ?? null,
    );
    answer(res, 200, {
      data: {
        startOperation: {
          __typename: 'StartOperationSuccess',
          operation: { id: op.id, status: op.status, revision: op.revision },
        },
      },
    });
  } else if (query.includes('cancelOperation')) {
    const op = operations.get(String(input?.id));
    if (op === undefined) {
      answer(res, 200, { data: { cancelOperation: { __typename: 'NotFoundError' } } });
      return;
    }
    cancel(op);
    answer(res, 200, {
      data: {
        cancelOperation: {
          __typename: 'CancelOperationSuccess',
          operation: { id: op.id, status: op.status, revision: op.revision },
        },
      },
    });
  } else if (query.includes('operation(')) {
    const op = operations.get(String(request.variables?.id));
    answer(res, 200, { data: { operation: op ? JSON.parse(view(op)) : null } });
  } else {
    answer(res, 200, { data: { __typename: 'Query' } });
  }
  void req;
}

const server = createServer((req, res) => {
  if (req.url === '/readyz') {
    answer(res, 200, { ready: true });
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => graphql(req, res, Buffer.concat(chunks).toString('utf8')));
});
server.keepAliveTimeout = 60_000;

const wss = new WebSocketServer({ server, path: '/graphql' });
wss.on('connection', (socket) => {
  const mine = new Map<string, Subscriber>();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as {
      type: string;
      id?: string;
      payload?: { query?: string; variables?: { id?: string } };
    };
    if (message.type === 'connection_init') {
      socket.send('{"type":"connection_ack"}');
    } else if (message.type === 'ping') {
      socket.send('{"type":"pong"}');
    } else if (message.type === 'subscribe' && message.id !== undefined) {
      const subscriber = {
        socket,
        prefix: `{"id":${JSON.stringify(message.id)},"type":"next","payload":`,
      };
      mine.set(message.id, subscriber);
      const query = message.payload?.query ?? '';
      if (query.includes('operationsUpdated')) {
        feeds.add(subscriber);
        return;
      }
      const op = operations.get(String(message.payload?.variables?.id));
      if (op === undefined) return;
      const set = watchers.get(op.id) ?? new Set<Subscriber>();
      watchers.set(op.id, set);
      set.add(subscriber);
      send(subscriber, 'operationUpdated', view(op));
    } else if (message.type === 'complete' && message.id !== undefined) {
      const subscriber = mine.get(message.id);
      if (subscriber) forget(subscriber);
      mine.delete(message.id);
    }
  });
  socket.on('close', () => {
    for (const subscriber of mine.values()) forget(subscriber);
  });
});

function forget(subscriber: Subscriber): void {
  feeds.delete(subscriber);
  for (const set of watchers.values()) set.delete(subscriber);
}

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
