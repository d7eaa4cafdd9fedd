/**
 * `longrun/client` on Node: the same client, with `ws` as the WebSocket when the runtime has
 * none (Node 20 has no global WebSocket).
 */
import { WebSocket } from 'ws';
import {
  createOperationsClient as createBase,
  type OperationsClient,
  type OperationsClientOptions,
} from './client.js';

export * from './index.js';

export function createOperationsClient(options: OperationsClientOptions): OperationsClient {
  const globalSocket = (globalThis as { WebSocket?: unknown }).WebSocket;
  return createBase({
    ...options,
    webSocketImpl: options.webSocketImpl ?? globalSocket ?? WebSocket,
  });
}
