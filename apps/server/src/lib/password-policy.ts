import { LIMITS } from '@parley/protocol';
import { dictionary } from '@zxcvbn-ts/language-common';
import { AppError } from './errors.ts';

/**
 * The list of common passwords shipped by @zxcvbn-ts/language-common (about 49,000, from leaked
 * password corpora, most-used first). Lower-cased once at start-up.
 */
const COMMON = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));

// Control characters (C0, DEL, C1) and every Unicode space/separator.
const BLANK_OR_CONTROL = /^[\p{Cc}\p{Z}\s]*$/u;

/**
 * Why `password` may not be used, as a sentence for the person choosing it, or undefined when it
 * is acceptable. Checked on the server for every new password: created, reset, changed, and
 * PARLEY_ADMIN_PASSWORD.
 */
export function passwordProblem(password: string): string | undefined {
  const chars = [...password];
  if (chars.length < LIMITS.passwordMin) return `must be at least ${LIMITS.passwordMin} characters`;
  if (chars.length > LIMITS.passwordMax) return `must be at most ${LIMITS.passwordMax} characters`;
  if (BLANK_OR_CONTROL.test(password)) return 'must contain letters, digits or symbols, not only spaces or control characters';
  if (new Set(chars).size < 4) return 'must not repeat the same few characters';
  const lower = password.toLowerCase();
  // "Password123!" is "password" with the usual decorations.
  const core = lower.replace(/^[\d\W_]+|[\d\W_]+$/gu, '');
  if (COMMON.has(lower) || (core.length >= 4 && COMMON.has(core))) return 'is one of the most common passwords; choose another (a few unrelated words work well)';
  return undefined;
}

/** Throws `bad_request` naming `field` when `password` breaks the policy (after the schema's own checks). */
export function assertPasswordAllowed(password: string, field: string, what: string): void {
  const problem = passwordProblem(password);
  if (problem) throw new AppError('bad_request', `Invalid ${what}: ${field}: ${problem}`, { [field]: problem });
}
