import { ApiError, type ErrorCode } from '@parley/protocol';

/** Anything with a zod-like `parse`; keeps this module free of a direct zod import. */
export interface Parser<T> {
  parse(data: unknown): T;
}

/** Why a request failed: a protocol error code, or `network` when no answer came back. */
export type RequestErrorCode = ErrorCode | 'network' | 'bad_response';

/** A failed API call. `message` is written for people and safe to show as is. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly code: RequestErrorCode,
    message: string,
    readonly status: number,
    readonly fields: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** Turns a non-2xx response body into a RequestError, whatever the body turned out to be. */
export function toRequestError(status: number, body: unknown): RequestError {
  const parsed = ApiError.safeParse(body);
  if (parsed.success) {
    const { code, message, fields } = parsed.data.error;
    return new RequestError(code, message, status, fields ?? {});
  }
  // A proxy or a crashed server answers with HTML or nothing; say so plainly.
  if (status === 401) return new RequestError('unauthenticated', 'Please sign in again.', status);
  if (status === 403) return new RequestError('forbidden', 'You are not allowed to do that.', status);
  return new RequestError('internal', `The server had a problem (HTTP ${status}). Please try again.`, status);
}

/** Every error shown to people goes through here so unexpected throwables still read well. */
export function errorMessage(err: unknown): string {
  if (err instanceof RequestError) {
    const details = Object.entries(err.fields).map(([field, problem]) => `${field} ${problem}`);
    return details.length > 0 ? `${err.message} (${details.join('; ')})` : err.message;
  }
  return 'Something went wrong. Please try again.';
}

type UnauthenticatedListener = () => void;
const unauthenticatedListeners = new Set<UnauthenticatedListener>();

/** Called whenever an authenticated request is refused with 401: the session is gone. */
export function onUnauthenticated(listener: UnauthenticatedListener): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

export interface RequestOptions<T> {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  /** Validates the 2xx body. Omit for endpoints answering 204. */
  schema?: Parser<T>;
  signal?: AbortSignal;
  /** False for the sign-in call, where 401 means "wrong password", not "session ended". */
  sessionRequired?: boolean;
}

export async function request<T = void>(path: string, options: RequestOptions<T> = {}): Promise<T> {
  const { method = 'GET', body, schema, signal, sessionRequired = true } = options;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
      signal: signal ?? null,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new RequestError('network', 'Cannot reach the server. Check your connection and try again.', 0);
  }

  const data: unknown = response.status === 204 ? undefined : await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = toRequestError(response.status, data);
    if (response.status === 401 && sessionRequired) unauthenticatedListeners.forEach((listener) => listener());
    throw error;
  }
  if (!schema) return undefined as T;
  try {
    return schema.parse(data);
  } catch {
    // The server and this bundle disagree on the protocol: usually a stale tab after a deploy.
    throw new RequestError('bad_response', 'The server sent an unexpected answer. Reload the page and try again.', response.status);
  }
}

/** True for the error fetch throws when a request was cancelled on purpose. */
export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError';
}
