import { createHash } from 'node:crypto';

export const SESSION_COOKIE = 'parley_session';

/** The session token in a Cookie header, if any. */
export function cookieValue(header: string | undefined, name = SESSION_COOKIE): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * A key for rate limits from the session cookie, without a database lookup: a hash, so tokens stay
 * out of the limiters' memory as they stay out of the database.
 */
export function sessionKey(header: string | undefined): string | undefined {
  const token = cookieValue(header);
  return token && token.length <= 200 ? createHash('sha256').update(token).digest('base64url').slice(0, 22) : undefined;
}
