import type { CallKind } from '@parley/protocol';
import type { ActiveCall, Device } from './call-types.ts';

/**
 * A device's claim, after a server restart, that it is in an answered call the server no longer
 * knows (call.resume). A claim alone makes nobody busy: the call only exists once the other
 * device named in it confirms it with the mirror claim (call-resume.ts).
 */
export interface ResumeClaim {
  callId: string;
  /** Unique per stored claim, so a timer or a compare-and-delete can tell this claim from a newer one. */
  nonce: string;
  from: Device & { name: string };
  role: 'caller' | 'callee';
  peer: Device & { name: string };
  kind: CallKind;
  answeredAt: number;
}

export type CreateResult = { ok: true } | { ok: false; reason: 'id_taken' } | { ok: false; reason: 'busy'; userId: string; callId: string };

/**
 * Where calls live, and who is in which call. Every method is async and every write is atomic
 * on its own, so a Redis implementation can run each as one Lua script (docs/architecture.md,
 * "Calls"): `create` claims both people or neither, `update` and `remove` are compare-and-set on
 * the record's `rev`, and the claim methods are set-if-absent and compare-and-delete.
 */
export interface CallRegistry {
  get(callId: string): Promise<ActiveCall | undefined>;
  /** The call a person takes part in (ringing or answered, as caller or callee), if any. */
  callOfUser(userId: string): Promise<ActiveCall | undefined>;
  /** Stores a new call and marks both people as in it, unless the id is taken or either person is already in a call. */
  create(call: ActiveCall): Promise<CreateResult>;
  /** Replaces the call if its stored `rev` is still `prevRev`; false when someone else changed it meanwhile. */
  update(call: ActiveCall, prevRev: number): Promise<boolean>;
  /** Deletes the call and frees both people if its stored `rev` is still `rev`. */
  remove(callId: string, rev: number): Promise<boolean>;
  count(): Promise<number>;

  getClaim(callId: string): Promise<ResumeClaim | undefined>;
  /**
   * Stores a claim unless the call already has one (false then). One claim per person: storing
   * one drops that person's earlier claim for another call, so claims cannot pile up.
   */
  putClaimIfAbsent(claim: ResumeClaim): Promise<boolean>;
  /** Deletes the call's claim if it is still the one with `nonce`. */
  takeClaim(callId: string, nonce: string): Promise<boolean>;

  /** Forgets everything (this node shutting down; a shared store keeps its calls for the others). */
  close(): Promise<void>;
}

/** One node's calls, in this process's memory. Each method runs without an await, so each is atomic. */
export class InMemoryCallRegistry implements CallRegistry {
  private readonly calls = new Map<string, ActiveCall>();
  private readonly byUser = new Map<string, string>();
  private readonly claims = new Map<string, ResumeClaim>();
  private readonly claimByUser = new Map<string, string>();

  async get(callId: string) {
    return this.calls.get(callId);
  }

  async callOfUser(userId: string) {
    const id = this.byUser.get(userId);
    return id ? this.calls.get(id) : undefined;
  }

  async create(call: ActiveCall): Promise<CreateResult> {
    if (this.calls.has(call.id)) return { ok: false, reason: 'id_taken' };
    for (const userId of [call.caller.userId, call.callee.userId]) {
      const callId = this.byUser.get(userId);
      if (callId) return { ok: false, reason: 'busy', userId, callId };
    }
    this.calls.set(call.id, call);
    this.byUser.set(call.caller.userId, call.id);
    this.byUser.set(call.callee.userId, call.id);
    return { ok: true };
  }

  async update(call: ActiveCall, prevRev: number) {
    if (this.calls.get(call.id)?.rev !== prevRev) return false;
    this.calls.set(call.id, call);
    return true;
  }

  async remove(callId: string, rev: number) {
    const call = this.calls.get(callId);
    if (call?.rev !== rev) return false;
    this.calls.delete(callId);
    for (const u of [call.caller.userId, call.callee.userId]) if (this.byUser.get(u) === callId) this.byUser.delete(u);
    return true;
  }

  async count() {
    return this.calls.size;
  }

  async getClaim(callId: string) {
    return this.claims.get(callId);
  }

  async putClaimIfAbsent(claim: ResumeClaim) {
    if (this.claims.has(claim.callId)) return false;
    const earlier = this.claimByUser.get(claim.from.userId);
    if (earlier) this.claims.delete(earlier);
    this.claims.set(claim.callId, claim);
    this.claimByUser.set(claim.from.userId, claim.callId);
    return true;
  }

  async takeClaim(callId: string, nonce: string) {
    const claim = this.claims.get(callId);
    if (claim?.nonce !== nonce) return false;
    this.claims.delete(callId);
    if (this.claimByUser.get(claim.from.userId) === callId) this.claimByUser.delete(claim.from.userId);
    return true;
  }

  async close() {
    this.calls.clear();
    this.byUser.clear();
    this.claims.clear();
    this.claimByUser.clear();
  }
}
