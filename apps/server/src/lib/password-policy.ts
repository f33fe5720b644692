import { createRequire } from 'node:module';
import { LIMITS } from '@parley/protocol';
import type * as LanguageCommon from '@zxcvbn-ts/language-common';
import { AppError } from './errors.ts';

/**
 * The common passwords shipped by @zxcvbn-ts/language-common (about 49,000, from leaked password
 * corpora), lower-cased, de-duplicated and sorted, in one string ("\n" after each) with where each
 * starts: ~0.6 MB for the server's life instead of the package's arrays (~49,000 strings, its
 * diceware list, its compressed source) and a Set of lower-cased copies (several MB; idle
 * capacity, docs/performance.md). The package is loaded once through `require` and let go.
 */
interface CommonTable {
  text: string;
  starts: Uint32Array;
}

function loadCommon(): CommonTable {
  const require = createRequire(import.meta.url);
  const cached = new Set(Object.keys(require.cache));
  const { dictionary } = require('@zxcvbn-ts/language-common') as typeof LanguageCommon;
  const words = [...new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()))].sort();
  // Nothing else of the server uses the package: forget its modules, so their data can be collected.
  for (const id of Object.keys(require.cache)) if (!cached.has(id)) delete require.cache[id];
  const starts = new Uint32Array(words.length + 1);
  let at = 0;
  words.forEach((w, i) => {
    starts[i] = at;
    at += w.length + 1;
  });
  starts[words.length] = at;
  // One flat string (join), not a rope of 49,000 pieces.
  return { text: words.join('\n') + '\n', starts };
}

let common: CommonTable | undefined;

/** Whether `lower` (already lower-cased) is one of the common passwords: a binary search of the table. */
export function isCommonPassword(lower: string): boolean {
  common ??= loadCommon();
  const { text, starts } = common;
  let lo = 0;
  let hi = starts.length - 2;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const word = text.slice(starts[mid]!, starts[mid + 1]! - 1);
    if (word === lower) return true;
    if (word < lower) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

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
  if (isCommonPassword(lower) || (core.length >= 4 && isCommonPassword(core))) return 'is one of the most common passwords; choose another (a few unrelated words work well)';
  return undefined;
}

/** Throws `bad_request` naming `field` when `password` breaks the policy (after the schema's own checks). */
export function assertPasswordAllowed(password: string, field: string, what: string): void {
  const problem = passwordProblem(password);
  if (problem) throw new AppError('bad_request', `Invalid ${what}: ${field}: ${problem}`, { [field]: problem });
}
