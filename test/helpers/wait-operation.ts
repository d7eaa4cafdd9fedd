import { OPERATION_SELECTION, type Op } from './clients.js';

/** The `waitOperation` query with every field of the operation. */
export const WAIT_OPERATION = `query($id: ID!, $timeoutMs: Int) { waitOperation(id: $id, timeoutMs: $timeoutMs) { ${OPERATION_SELECTION} } }`;

/** What one `waitOperation` over HTTP got back, and when its answer arrived (epoch ms). */
export interface WaitAnswer {
  readonly status: number;
  readonly body: {
    data?: { waitOperation: Op | null } | null;
    errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  };
  readonly at: number;
}

/** POSTs `waitOperation(id, timeoutMs)` to `url` with `token`; `signal` aborts the request. */
export async function waitOperation(
  url: string,
  token: string,
  id: string,
  timeoutMs?: number,
  signal?: AbortSignal,
): Promise<WaitAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: WAIT_OPERATION, variables: { id, timeoutMs } }),
    ...(signal ? { signal } : {}),
  });
  const body = (await response.json()) as WaitAnswer['body'];
  return { status: response.status, body, at: Date.now() };
}
