import jwt from 'jsonwebtoken';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClientErrorCode,
  type ConnectionState,
  createOperationsClient,
  type Operation,
  type OperationsClient,
  OperationsClientError,
} from '../../src/client/node.js';
import { renewalDelay, tokenExpiry } from '../../src/client/session-renewal.js';
import { startControlled } from '../helpers/controlled.js';
import { TEST_SECRET } from '../helpers/server.js';
import { waitFor, within } from '../helpers/wait.js';

const clients = new Set<OperationsClient>();
afterEach(async () => {
  await Promise.all([...clients].map((client) => client.close()));
  clients.clear();
});

/** A user token for `sub` that lives exactly `seconds` from now (a fractional `exp`). */
function shortToken(sub: string, seconds: number): string {
  return jwt.sign({ sub, exp: Date.now() / 1000 + seconds }, TEST_SECRET, { algorithm: 'HS256' });
}

describe('when the client renews', () => {
  it('renews halfway through what is left, at the latest a minute before the end', () => {
    const now = 1_000_000;
    expect(renewalDelay(now + 120_000, now)).toBe(60_000); // 2-minute token: after one minute
    expect(renewalDelay(now + 3_600_000, now)).toBe(3_540_000); // 1 hour: a minute before
    expect(renewalDelay(now + 3_000, now)).toBe(1_500);
    expect(renewalDelay(now - 1, now)).toBe(0);
  });

  it('reads exp from a token without verifying it, and null from anything else', () => {
    const token = shortToken('alice', 60);
    const exp = (jwt.decode(token) as { exp: number }).exp;
    expect(tokenExpiry(token)).toBe(exp * 1000);
    expect(tokenExpiry(jwt.sign({ sub: 'a' }, TEST_SECRET))).toBeNull();
    expect(tokenExpiry('not.a-token')).toBeNull();
    expect(tokenExpiry('')).toBeNull();
  });
});

describe('a watch on one socket with short-lived tokens', () => {
  // The test's hour: 30 token lifetimes, as a watch with 2-minute tokens lives through in an hour.
  const LIFETIMES = 30;
  const TOKEN_SECONDS = 3;

  it('runs through 30 token lifetimes without a reconnect and sees every status change', {
    timeout: 180_000,
  }, async () => {
    const { server, op, run } = await startControlled();
    let issued = 0;
    const client = createOperationsClient({
      url: server.url,
      getToken: () => {
        issued += 1;
        return shortToken('alice', TOKEN_SECONDS);
      },
      retry: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    clients.add(client);
    const states: ConnectionState[] = [];
    client.onConnectionChange((state) => states.push(state));
    const seen: Operation[] = [];
    const watching = (async () => {
      for await (const state of client.watch(op.id)) seen.push(state);
    })();
    await waitFor(() => seen.length > 0, 'the first state');
    expect(seen[0]).toMatchObject({ status: 'RUNNING', revision: 2 });

    // Each lifetime: a renewal (a fresh token taken from getToken), then a change to see.
    const started = issued;
    for (let i = 1; i <= LIFETIMES; i++) {
      await waitFor(() => issued >= started + i, `renewal ${i}`, 10_000, 10);
      await run.context.progress(i / LIFETIMES, `lifetime ${i}`);
      await waitFor(() => seen.at(-1)?.message === `lifetime ${i}`, `change ${i}`);
    }
    expect(server.app.gauges().sockets).toBe(1);
    await client.cancel(op.id, 'an hour is enough');
    await within(watching, 'the watch to end', 10_000);

    // One socket the whole time: connected once, never reconnecting.
    expect(states.slice(0, 2)).toEqual(['connecting', 'connected']);
    expect(states).not.toContain('reconnecting');
    // Every change, once and in order: revisions 2, 3, … with no gap.
    const revisions = seen.map((state) => state.revision);
    expect(revisions).toEqual(revisions.map((_, index) => index + 2));
    const statuses = seen.map((state) => state.status).filter((s, i, all) => s !== all[i - 1]);
    expect(statuses).toEqual(['RUNNING', 'CANCELLING', 'CANCELLED']);
    expect(seen.filter((state) => state.status === 'RUNNING')).toHaveLength(LIFETIMES + 1);
  });

  it('without getToken there is nothing to renew with: the socket closes at exp and the watch fails', async () => {
    const { server, op } = await startControlled();
    const client = createOperationsClient({ url: server.url, token: shortToken('alice', 2) });
    clients.add(client);
    const error = await (async () => {
      try {
        for await (const _ of client.watch(op.id)) {
          // Watching until the token runs out.
        }
        return null;
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(OperationsClientError);
    expect((error as OperationsClientError).code).toBe(ClientErrorCode.Unauthenticated);
  });
});
