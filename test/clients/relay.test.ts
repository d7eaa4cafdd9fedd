import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { createClient } from 'graphql-ws';
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  createRelayEnvironment,
  loadOperation,
  watchOperation,
} from '../../examples/relay/environment.js';
import { userClient } from '../helpers/clients.js';
import { startTestServer, tokenFor } from '../helpers/server.js';

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(disposers.splice(0).map((dispose) => dispose()));
});

const recipe = resolve(import.meta.dirname, '..', '..', 'examples', 'relay');

it("the committed Relay artifacts are what relay-compiler makes of the recipe's documents and schema.graphql", () => {
  const compiler = resolve(recipe, '..', '..', 'node_modules', 'relay-compiler', 'cli.js');
  const run = spawnSync(process.execPath, [compiler, 'relay.config.json', '--validate'], {
    cwd: recipe,
    encoding: 'utf8',
  });
  expect(
    run.status,
    `${run.stdout}${run.stderr}\nrun: cd examples/relay && npx relay-compiler`,
  ).toBe(0);
});

it('Relay loads an operation through node (its fragment spread with @alias) and watches it to its end', async () => {
  const server = await startTestServer();
  const token = tokenFor('alice');
  const socket = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  disposers.push(() => socket.dispose());
  const environment = createRelayEnvironment({ url: server.url, getToken: () => token, socket });
  const op = await userClient(server, 'alice').start({
    kind: 'demo.sleep',
    input: { ms: 300, steps: 3 },
  });

  expect(await loadOperation(environment, op.id)).toMatchObject({ id: op.id });
  expect(await loadOperation(environment, 'bm90IGFuIGlk')).toBeNull();

  const statuses: string[] = [];
  await watchOperation(environment, op.id, (state) => statuses.push(state.status));
  expect(statuses.at(-1)).toBe('SUCCEEDED');
  expect(await loadOperation(environment, op.id)).toMatchObject({
    status: 'SUCCEEDED',
    done: true,
  });
});
