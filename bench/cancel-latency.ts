/**
 * `npm run bench`: how long from `cancelOperation` to the CANCELLED event on a WebSocket subscriber,
 * and the same on an SSE subscriber, over N runs against a real server on a temp SQLite file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';

const RUNS = Number(process.argv[2] ?? 50);
const dataDir = mkdtempSync(join(tmpdir(), 'longrun-bench-'));
const config = loadConfig({
  PORT: '0',
  DATA_DIR: dataDir,
  LOG_LEVEL: 'error',
  NODE_ENV: 'development',
});
const app = await createApp(config, { logger: createLogger('error') });
await app.start();
const token = app.devToken ?? '';
const url = app.url;

async function gql(query: string, variables: Record<string, unknown>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data: Record<string, { operation: { id: string } }> };
}

const ws = createClient({
  url: url.replace('http', 'ws'),
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const wsTimes: number[] = [];
const sseTimes: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const started = await gql(
    'mutation($i: StartOperationInput!) { startOperation(input: $i) { ... on StartOperationSuccess { operation { id } } } }',
    { i: { kind: 'demo.sleep', input: { ms: 60_000, steps: 60 } } },
  );
  const id = started.data.startOperation?.operation.id ?? '';
  const subscription = `subscription($id: ID!) { operationUpdated(id: $id) { status } }`;
  let cancelledAt = 0;
  let resolveWs: (ms: number) => void = () => undefined;
  let resolveRunning: () => void = () => undefined;
  const wsDone = new Promise<number>((resolve) => {
    resolveWs = resolve;
  });
  const running = new Promise<void>((resolve) => {
    resolveRunning = resolve;
  });
  const stop = ws.subscribe(
    { query: subscription, variables: { id } },
    {
      next: (value) => {
        const status = (value.data as { operationUpdated: { status: string } }).operationUpdated
          .status;
        if (status === 'RUNNING') resolveRunning();
        if (status === 'CANCELLED') resolveWs(performance.now() - cancelledAt);
      },
      error: () => undefined,
      complete: () => undefined,
    },
  );
  const sse = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query: subscription, variables: { id } }),
  });
  const sseDone = (async () => {
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of sse.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk);
      if (text.includes('"CANCELLED"')) return performance.now() - cancelledAt;
    }
    return Number.NaN;
  })();
  await running;
  cancelledAt = performance.now();
  await gql('mutation($id: ID!) { cancelOperation(input: { id: $id }) { __typename } }', { id });
  wsTimes.push(await wsDone);
  sseTimes.push(await sseDone);
  stop();
}

for (const [name, times] of [
  ['WebSocket', wsTimes],
  ['SSE', sseTimes],
] as const) {
  const sorted = [...times].sort((a, b) => a - b);
  console.log(
    `cancelOperation → CANCELLED on a ${name} subscriber, ${RUNS} runs: ` +
      `p50 ${percentile(sorted, 50).toFixed(2)} ms, p95 ${percentile(sorted, 95).toFixed(2)} ms, ` +
      `max ${(sorted.at(-1) ?? Number.NaN).toFixed(2)} ms`,
  );
}
await ws.dispose();
await app.stop();
rmSync(dataDir, { recursive: true, force: true });
