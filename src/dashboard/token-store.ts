const STORAGE_KEY = 'longrun.token';

/** The development token the server injected (no key configured, not production), if any. */
export function devToken(): string | null {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="longrun-dev-token"]');
  const value = meta?.content.trim() ?? '';
  return value === '' ? null : value;
}

/** The token kept for this tab; sessionStorage may be unavailable (privacy modes). */
export function savedToken(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

/** Keeps `token` for this tab (null forgets it). */
export function saveToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(STORAGE_KEY);
    else sessionStorage.setItem(STORAGE_KEY, token);
  } catch {
    // Not kept: the user types it again after a reload.
  }
}

/** A pasted token without the `Bearer ` prefix and surrounding space. */
export function normaliseToken(raw: string): string {
  return raw.trim().replace(/^Bearer\s+/i, '');
}
