import { connect, createServer, type Socket } from 'node:net';

/** A TCP relay (to Redis, or to a server) that a test can slow down, cut or black-hole, leaving the far end alone. */
export interface TcpProxy {
  /** `redis://127.0.0.1:<port>` of the relay. */
  readonly url: string;
  /** Delay added to every chunk sent towards Redis (order is kept). */
  delayMs: number;
  /** Drops every open connection and refuses new ones until `restore()`. */
  cut(): void;
  /** Accepts connections again. */
  restore(): void;
  /** Open connections stay open but carry nothing more, either way; new ones work. */
  blackHole(): void;
  /** `ip:port` of each open connection to Redis, as `CLIENT LIST` / `CLIENT KILL ADDR` name it. */
  upstreamAddresses(): string[];
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  dead: boolean;
}

/** Listens on port 0 and relays every connection to `target` (`redis://host:port` or any `scheme://host:port`). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const pairs = new Set<Pair>();
  let refusing = false;

  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(port || 6379), hostname);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair: Pair = { client, upstream, dead: false };
    pairs.add(pair);
    client.on('data', (chunk) => {
      if (pair.dead) return;
      if (proxy.delayMs === 0) upstream.write(chunk);
      else setTimeout(() => pair.dead || upstream.write(chunk), proxy.delayMs);
    });
    upstream.on('data', (chunk) => {
      if (!pair.dead) client.write(chunk);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');

  const proxy: TcpProxy = {
    url: `redis://127.0.0.1:${address.port}`,
    delayMs: 0,
    cut() {
      refusing = true;
      for (const pair of [...pairs]) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
    },
    restore() {
      refusing = false;
    },
    blackHole() {
      for (const pair of pairs) pair.dead = true;
    },
    upstreamAddresses() {
      return [...pairs].map((pair) => `${pair.upstream.localAddress}:${pair.upstream.localPort}`);
    },
    async close() {
      proxy.cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
