import type { ApiError, ErrorCode } from '@parley/protocol';
import type { ZodError } from 'zod';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  recipient_inactive: 403,
  incompatible: 426,
  internal: 500,
};

/** An error the client is meant to see: a code from the protocol, a sentence, an HTTP status. */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields?: Record<string, string>,
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
  get status(): number {
    return STATUS[this.code];
  }
  toBody(): ApiError {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.fields ? { fields: this.fields } : {}),
        ...(this.retryAfterS !== undefined ? { retryAfter: this.retryAfterS } : {}),
      },
    };
  }
}

export function fromZod(error: ZodError, what = 'request'): AppError {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = issue.path.join('.') || '(root)';
    fields[key] ??= issue.message;
  }
  const summary = Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
  return new AppError('bad_request', `Invalid ${what}: ${summary}`, fields);
}

/** Parses with a protocol schema or throws a bad_request AppError naming each wrong field. */
export function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: ZodError } }, value: unknown, what?: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw fromZod(r.error, what);
  return r.data;
}
