import { createSecretKey } from 'node:crypto';
import { createWatchTokens } from '../../src/auth/watch-token.js';
import { parseOperationId } from '../../src/schema/ids.js';
import { gql } from './clients.js';
import { TEST_WATCH_SECRET } from './server.js';

/** `createWatchToken` with every member of its result union. */
export const CREATE_WATCH_TOKEN = `mutation($input: CreateWatchTokenInput!) {
  createWatchToken(input: $input) {
    __typename
    ... on CreateWatchTokenSuccess { token expiresAt watchUrl operation { id status ownerId } }
    ... on NotFoundError { message id }
    ... on ValidationError { message field }
  }
}`;

/** `createWatchToken`'s result, as data. */
export interface WatchTokenResult {
  readonly __typename: string;
  readonly token?: string;
  readonly expiresAt?: string;
  readonly watchUrl?: string;
  readonly operation?: { id: string; status: string; ownerId: string };
  readonly message?: string;
  readonly id?: string;
  readonly field?: string | null;
}

/** Asks for a watch token of operation `id` with `token` (a user's); the result union. */
export async function createWatchToken(
  url: string,
  token: string,
  id: string,
  ttlSeconds?: number,
): Promise<WatchTokenResult> {
  const r = await gql<{ createWatchToken: WatchTokenResult }>(url, token, CREATE_WATCH_TOKEN, {
    input: { id, ...(ttlSeconds === undefined ? {} : { ttlSeconds }) },
  });
  const result = r.body.data?.createWatchToken;
  if (!result) throw new Error(`createWatchToken failed: ${JSON.stringify(r.body)}`);
  return result;
}

/** A watch token of operation `id`, granted to the holder of `token`; throws unless granted. */
export async function watchTokenFor(
  url: string,
  token: string,
  id: string,
  ttlSeconds?: number,
): Promise<string> {
  const result = await createWatchToken(url, token, id, ttlSeconds);
  if (result.__typename !== 'CreateWatchTokenSuccess' || !result.token) {
    throw new Error(`no watch token: ${JSON.stringify(result)}`);
  }
  return result.token;
}

/**
 * A watch token signed with the test servers' watch key without asking a server, issued at
 * `issuedAt` (ms): one issued an hour ago for a minute has expired.
 */
export function mintTestWatchToken(
  sub: string,
  id: string,
  ttlSeconds: number,
  issuedAt = Date.now(),
): string {
  const tokens = createWatchTokens(
    createSecretKey(Buffer.from(TEST_WATCH_SECRET, 'utf8')),
    { clockToleranceSec: 0 },
    () => issuedAt,
  );
  return tokens.mint({ sub, operationId: parseOperationId(id) ?? id, ttlSeconds }).token;
}
