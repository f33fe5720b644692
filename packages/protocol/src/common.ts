import { z } from 'zod';

/** Bumped when a change would break an older client; the server answers such a client with `incompatible`. */
export const PROTOCOL_VERSION = 1;

/** Size limits, shared by server validation and the web app's inputs. Documented in docs/protocol.md. */
export const LIMITS = {
  /** Characters in one message body, after trimming. */
  messageBodyMax: 4000,
  nameMax: 100,
  emailMax: 254,
  passwordMin: 12,
  passwordMax: 200,
  searchQueryMax: 100,
  pageSizeMax: 100,
  /** Bytes in one HTTP request body. Larger bodies get 413. */
  httpBodyMaxBytes: 64 * 1024,
  /** Bytes in one socket.io frame. Larger frames close the connection (socket.io's maxHttpBufferSize). */
  socketFrameMaxBytes: 64 * 1024,
  /** Conversations one `chat.sync` may name. */
  syncCursorsMax: 500,
  /** People one `presence.subscribe` or `presence.unsubscribe` may name. */
  presenceBatchMax: 200,
  /** People one socket may follow the presence of at once. */
  presenceSubscriptionsMax: 1000,
} as const;

export const ROLES = ['admin', 'doctor', 'nurse'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

export const Id = z.uuid();
export type Id = z.infer<typeof Id>;

export const Email = z
  .string()
  .trim()
  .toLowerCase()
  .max(LIMITS.emailMax)
  .pipe(z.email({ message: 'must be an email address' }));

/**
 * A new password. The server also refuses common passwords (a list of ~49,000) with
 * `bad_request` and a sentence in `fields`.
 */
export const Password = z
  .string()
  .min(LIMITS.passwordMin, `must be at least ${LIMITS.passwordMin} characters`)
  .max(LIMITS.passwordMax, `must be at most ${LIMITS.passwordMax} characters`)
  .refine((v) => !/^[\p{Cc}\p{Z}\s]*$/u.test(v), 'must contain letters, digits or symbols, not only spaces or control characters');

export const PersonName = z.string().trim().min(1, 'must not be empty').max(LIMITS.nameMax);

/** Error codes carried by HTTP error bodies and by failed socket acknowledgements. */
export const ERROR_CODES = [
  /** The payload does not match the schema (wrong type, unknown field, missing field). */
  'bad_request',
  /** No valid session. */
  'unauthenticated',
  /** Signed in, but not allowed (wrong role, not a member of the conversation). */
  'forbidden',
  /** The user, conversation or route does not exist. */
  'not_found',
  /** The request conflicts with stored state (duplicate email, reused message id). */
  'conflict',
  /** The payload is larger than the documented limit. */
  'payload_too_large',
  /** Too many attempts or events; retry after `retryAfter` seconds (also the HTTP `Retry-After` header). */
  'rate_limited',
  /** The other person's account is deactivated. */
  'recipient_inactive',
  /** The client speaks a protocol version the server no longer accepts. */
  'incompatible',
  /** Something failed on the server; nothing was stored. */
  'internal',
] as const;
export const ErrorCode = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ApiError = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    /** Per-field problems for `bad_request`, keyed by dotted path. */
    fields: z.record(z.string(), z.string()).optional(),
    /** For `rate_limited`: seconds until the same request may succeed. */
    retryAfter: z.number().int().positive().optional(),
  }),
});
export type ApiError = z.infer<typeof ApiError>;

/** A socket acknowledgement: `{ ok: true, ...data }` or `{ ok: false, error }`. */
export type Ack<T extends object = object> = ({ ok: true } & T) | ({ ok: false } & ApiError);
