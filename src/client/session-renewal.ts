/** A token is renewed at the latest this long before its `exp`. */
const LATEST_BEFORE_EXPIRY_MS = 60_000;

/** With less life left than this no renewal is tried: the socket is closed at `exp` and reopens. */
const TOO_LATE_MS = 500;

/** The `exp` of a JWT in ms since the epoch, read without verifying it; null when it has none. */
export function tokenExpiry(token: string): number | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const json = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    const { exp } = JSON.parse(json) as { exp?: unknown };
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * How long to wait before renewing a token that expires at `expiresAt`, seen at `now`: until half
 * of its remaining life has passed, but no later than a minute before it ends. A 2-minute token is
 * renewed after one minute, a 1-hour token a minute before its end, and a failed attempt is tried
 * again halfway through what is then left.
 */
export function renewalDelay(expiresAt: number, now: number): number {
  const remaining = expiresAt - now;
  return Math.max(0, remaining - Math.min(LATEST_BEFORE_EXPIRY_MS, remaining / 2));
}

/** What renewal needs of the client: fresh tokens, and a way to send one on the open socket. */
export interface RenewalPort {
  /** The application's current token (the client's `getToken`). */
  getToken(): Promise<string>;
  /** Sends `renewSession(token)` on the socket; true when the server took the token. */
  renew(token: string): Promise<boolean>;
}

/**
 * Keeps one socket's token fresh so the server never closes it at `exp` (SEMANTICS.md, "Frontends,
 * scripts and token renewal"): shortly before the token the socket runs on expires, it asks for a
 * new token and sends `renewSession` in band, so subscriptions go on untouched. `start` is called
 * for each socket as it opens, `stop` when it closes; a renewal that finishes after its socket
 * closed is dropped. When no fresher token comes or the server refuses it, it tries again later,
 * and at worst the socket closes at `exp` and reopens as it would without renewal.
 */
export class SessionRenewal {
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped by `start` and `stop`: a renewal of an older socket sees it changed and gives up. */
  #generation = 0;

  constructor(private readonly port: RenewalPort) {}

  /** Starts renewing for a socket opened with `token`. */
  start(token: string): void {
    this.stop();
    this.#schedule(token, this.#generation);
  }

  /** Stops renewing (the socket closed). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#generation += 1;
  }

  #schedule(token: string, generation: number): void {
    const expiresAt = tokenExpiry(token);
    if (expiresAt === null || expiresAt - Date.now() < TOO_LATE_MS) return;
    this.#timer = setTimeout(
      () => void this.#renew(token, expiresAt, generation),
      renewalDelay(expiresAt, Date.now()),
    );
    // Node: a pending renewal alone must not keep a process alive (the socket does, while open).
    (this.#timer as { unref?: () => void }).unref?.();
  }

  async #renew(current: string, expiresAt: number, generation: number): Promise<void> {
    let next: string | null = null;
    try {
      next = await this.port.getToken();
    } catch {
      next = null;
    }
    if (generation !== this.#generation) return;
    const nextExpiry = next === null ? null : tokenExpiry(next);
    // Only a token that lives longer moves the socket's expiry; anything else waits and retries.
    let renewed = false;
    if (next !== null && nextExpiry !== null && nextExpiry > expiresAt) {
      renewed = await this.port.renew(next).catch(() => false);
    }
    if (generation !== this.#generation) return;
    this.#schedule(renewed && next !== null ? next : current, generation);
  }
}
