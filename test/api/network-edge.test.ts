import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { gql } from '../helpers/clients.js';
import { EventQueue } from '../helpers/queue.js';
import { startTestServer, type TestServer, tokenFor } from '../helpers/server.js';
import { within } from '../helpers/wait.js';

/** The bound the server must keep: a connection that never completes a request is gone by then. */
const SILENT_CONNECTION_LIMIT_MS = 30_000;

const sockets = new Set<Socket>();
afterEach(() => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
});

/** A raw TCP connection to the server: what it received, and when it closed. */
async function rawConnection(server: TestServer) {
  const socket = connect(server.app.port, '127.0.0.1');
  sockets.add(socket);
  await once(socket, 'connect');
  let received = '';
  const data = new EventQueue<string>();
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    received += chunk;
    data.push(chunk);
  });
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  return { socket, closed, data, received: () => received };
}

describe('slow and silent clients', () => {
  it('closes, within 30 s, a connection with half a request line, one trickling its headers, and an idle keep-alive', {
    timeout: 60_000,
  }, async () => {
    const server = await startTestServer();
    const host = `Host: 127.0.0.1:${server.app.port}\r\n`;
    const started = Date.now();

    const halfLine = await rawConnection(server);
    halfLine.socket.write('GET /graphql HTT');

    // A byte every 200 ms keeps the socket busy but never finishes the headers.
    const trickle = await rawConnection(server);
    trickle.socket.write(`GET /healthz HTTP/1.1\r\n${host}`);
    const header = 'X-Slow: '.padEnd(4_000, 'x');
    let sent = 0;
    const dripping = setInterval(() => {
      if (sent < header.length && !trickle.socket.destroyed)
        trickle.socket.write(header[sent++] ?? 'x');
    }, 200);

    // A complete request answered on a keep-alive connection, then nothing more.
    const idle = await rawConnection(server);
    idle.socket.write(`GET /healthz HTTP/1.1\r\n${host}\r\n`);
    await idle.data.next();
    expect(idle.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(idle.received()).toMatch(/keep-alive: timeout=5/i);

    try {
      for (const connection of [halfLine, trickle, idle]) {
        const closedAt = await within(
          connection.closed,
          'the server to close the connection',
          SILENT_CONNECTION_LIMIT_MS,
        );
        expect(closedAt - started).toBeLessThan(SILENT_CONNECTION_LIMIT_MS);
      }
    } finally {
      clearInterval(dripping);
    }
    // A request timed out while its headers were incomplete is told so, when it can be.
    expect(halfLine.received()).toMatch(/^(HTTP\/1\.1 408 |$)/);
    expect((await gql(server.url, tokenFor('alice'), '{ viewer { id } }')).status).toBe(200);
  });
});

describe('a request without a valid token', () => {
  it.each([
    ['no Authorization header', null],
    ['a bad token', `Bearer ${tokenFor('alice')}x`],
    ['another scheme', 'Basic YWxpY2U6cHc='],
  ])(
    'is refused with 401 from its headers alone, before its body is read (%s)',
    async (_name, authorization) => {
      const server = await startTestServer();
      const connection = await rawConnection(server);
      // Announces 900 KB (under the body limit) and sends none of it: a server that read the
      // body before the token would wait forever.
      connection.socket.write(
        [
          'POST /graphql HTTP/1.1',
          `Host: 127.0.0.1:${server.app.port}`,
          'Content-Type: application/json',
          'Content-Length: 900000',
          ...(authorization === null ? [] : [`Authorization: ${authorization}`]),
          '',
          '',
        ].join('\r\n'),
      );
      await within(connection.closed, 'the refusal and the close', 10_000);
      expect(connection.received()).toMatch(/^HTTP\/1\.1 401 /);
      expect(connection.received()).toMatch(/\r\nconnection: close\r\n/i);
      expect(connection.received()).toContain('"code":"UNAUTHENTICATED"');
      expect(await server.app.store.count({})).toBe(0);
    },
  );
});
