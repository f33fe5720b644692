import { AppError } from '../../lib/errors.ts';
import { retryAfterS, type LimiterFactory } from '../../lib/limiter.ts';
import { Semaphore } from '../../lib/semaphore.ts';

export interface SignInLimits {
  /** Failures allowed per account + address in 5 minutes. */
  perPair: number;
  /** Failures per account (any address) in 5 minutes after which each address gets a single failure. */
  perAccount: number;
  /** Failures allowed per address (any account) in 15 minutes. */
  perAddress: number;
  /** Password verifications (scrypt) running at once; the rest queue. */
  verifyConcurrency: number;
}

const PAIR_WINDOW_S = 5 * 60;
const ACCOUNT_WINDOW_S = 5 * 60;
const ADDRESS_WINDOW_S = 15 * 60;
const VERIFY_QUEUE_MAX = 64;

/**
 * Sign-in throttling (docs/decisions/002-sign-in-throttling.md). Every attempt is counted *before*
 * its password is verified, atomically, so parallel guesses cannot all slip in before the first
 * failure is recorded; a success gives its reservation back. An account under attack slows down
 * only the addresses that failed on it, never the person from a clean address.
 */
export class SignInGuard {
  private readonly pair;
  private readonly account;
  private readonly address;
  private readonly verifying: Semaphore;
  /** The last verification queued per address: one address verifies one password at a time. */
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(limiters: LimiterFactory, limits: SignInLimits) {
    this.pair = limiters({ name: 'signin_pair', points: limits.perPair, durationS: PAIR_WINDOW_S });
    // The account's budget is never refused on its own (that would lock the person out); past it,
    // the account is "under attack" and each address gets one failure in the window.
    this.account = { limiter: limiters({ name: 'signin_account', points: Number.MAX_SAFE_INTEGER, durationS: ACCOUNT_WINDOW_S }), threshold: limits.perAccount };
    this.address = limiters({ name: 'signin_address', points: limits.perAddress, durationS: ADDRESS_WINDOW_S });
    this.verifying = new Semaphore(limits.verifyConcurrency, VERIFY_QUEUE_MAX);
  }

  /**
   * Runs `verify` (the password check) if `email` from `ip` may try now; throws `rate_limited` with
   * a retry time otherwise. Resolves with what `verify` said.
   */
  async attempt(email: string, ip: string, verify: () => Promise<boolean>): Promise<boolean> {
    const pairKey = `${email}|${ip}`;
    const pair = await this.pair.consume(pairKey);
    if (!pair.allowed) throw limited(pair.retryAfterMs);
    const address = await this.address.consume(ip);
    if (!address.allowed) {
      await this.pair.reward(pairKey);
      throw limited(address.retryAfterMs);
    }
    const account = await this.account.limiter.consume(email);
    const giveBack = async () => {
      await Promise.all([this.pair.reward(pairKey), this.address.reward(ip), this.account.limiter.reward(email)]);
    };
    if (account.consumed > this.account.threshold && pair.consumed > 1) {
      // Under attack, and this address has failed on this account before: hold it off for the
      // rest of its window. An address that has not failed here (the real person) goes on.
      await Promise.all([this.address.reward(ip), this.account.limiter.reward(email)]);
      const { msLeft } = await this.pair.peek(pairKey);
      throw limited(msLeft);
    }
    let ok: boolean;
    try {
      ok = await this.oneAtATime(ip, () => this.verifying.run(verify));
    } catch (err) {
      await giveBack();
      throw err;
    }
    if (ok) {
      await giveBack();
      await this.pair.delete(pairKey);
    }
    return ok;
  }

  /**
   * Queues `task` behind the address's earlier verifications, so a burst from one address holds at
   * most one of the shared verification slots and everyone else keeps the rest.
   */
  private async oneAtATime<T>(ip: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(ip) ?? Promise.resolve();
    const mine = before.then(task, task);
    const tail = mine.catch(() => undefined);
    this.tails.set(ip, tail);
    try {
      return await mine;
    } finally {
      if (this.tails.get(ip) === tail) this.tails.delete(ip);
    }
  }
}

function limited(ms: number): AppError {
  const s = retryAfterS(ms);
  return new AppError('rate_limited', `Too many failed sign-in attempts. Try again in ${s} seconds.`, undefined, s);
}
