import type { RedisLink } from '../../lib/redis.ts';
import type { ActiveCall } from './call-types.ts';
import type { CallRegistry, CreateResult, ResumeClaim } from './call-registry.ts';

/**
 * Keys, under one prefix:
 *   call:<id>        hash { json, rev, caller, callee }: the record as the lifecycle wrote it (JSON,
 *                    passed through untouched, so a field added to ActiveCall needs nothing here),
 *                    and beside it what the scripts compare and index on
 *   user:<userId>    the id of the call the person is in (the busy index, also what glare looks up)
 *   ids              set of the call ids (count)
 *   claim:<callId>   hash { json, nonce, user }: a call.resume claim (call-resume.ts)
 *   claimuser:<uid>  the call id of that person's claim
 * Every write is one Lua script, so it runs atomically in Redis: two nodes racing on one call (two
 * devices answering, both people calling each other) cannot interleave, and exactly one wins.
 */

/** KEYS call, caller index, callee index, ids; ARGV json, id, caller, callee, prefix, rev → {'ok'} | {'id_taken'} | {'busy', userId, callId}. */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {'id_taken'} end
for i = 2, 3 do
  local other = redis.call('GET', KEYS[i])
  -- an index entry whose call is gone is stale, not busy
  if other and redis.call('EXISTS', ARGV[5] .. 'call:' .. other) == 1 then return {'busy', ARGV[i + 1], other} end
end
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'rev', ARGV[6], 'caller', ARGV[3], 'callee', ARGV[4])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[2])
return {'ok'}`;

/** KEYS call; ARGV json, prev rev, next rev → 1 when stored. */
const UPDATE = `
if redis.call('HGET', KEYS[1], 'rev') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'rev', ARGV[3])
return 1`;

/** KEYS call, ids; ARGV rev, id, prefix → 1 when removed (and both people freed). */
const REMOVE = `
if redis.call('HGET', KEYS[1], 'rev') ~= ARGV[1] then return 0 end
local people = redis.call('HMGET', KEYS[1], 'caller', 'callee')
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
for _, u in ipairs(people) do
  local k = ARGV[3] .. 'user:' .. u
  if redis.call('GET', k) == ARGV[2] then redis.call('DEL', k) end
end
return 1`;

/** KEYS user index; ARGV prefix → the record's JSON, or nil. */
const CALL_OF_USER = `
local id = redis.call('GET', KEYS[1])
if not id then return nil end
return redis.call('HGET', ARGV[1] .. 'call:' .. id, 'json')`;

/** KEYS claim, claim index of its person; ARGV json, nonce, user, call id, prefix, ttl ms → 1 when stored. */
const PUT_CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local earlier = redis.call('GET', KEYS[2])
if earlier then redis.call('DEL', ARGV[5] .. 'claim:' .. earlier) end
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'nonce', ARGV[2], 'user', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[6])
return 1`;

/** KEYS claim; ARGV nonce, call id, prefix → 1 when taken. */
const TAKE_CLAIM = `
if redis.call('HGET', KEYS[1], 'nonce') ~= ARGV[1] then return 0 end
local user = redis.call('HGET', KEYS[1], 'user')
redis.call('DEL', KEYS[1])
local k = ARGV[3] .. 'claimuser:' .. user
if redis.call('GET', k) == ARGV[2] then redis.call('DEL', k) end
return 1`;

/** A claim waits for the other device for CALL_RECONNECT_GRACE_S; this only bounds what a lost timer could leave. */
const CLAIM_TTL_MS = 60 * 60_000;

/** The calls of every node, in Redis (REDIS_URL). The in-memory registry's contract, run as Lua scripts. */
export class RedisCallRegistry implements CallRegistry {
  constructor(
    private readonly redis: RedisLink,
    private readonly prefix = 'parley:calls:',
  ) {}

  private run(script: string, keys: string[], args: Array<string | number>): Promise<unknown> {
    return this.redis.commands.eval(script, keys.length, ...keys, ...args);
  }

  private key(kind: 'call' | 'user' | 'claim' | 'claimuser', id: string): string {
    return `${this.prefix}${kind}:${id}`;
  }

  async get(callId: string): Promise<ActiveCall | undefined> {
    const json = await this.redis.commands.hget(this.key('call', callId), 'json');
    return json ? (JSON.parse(json) as ActiveCall) : undefined;
  }

  async callOfUser(userId: string): Promise<ActiveCall | undefined> {
    const json = (await this.run(CALL_OF_USER, [this.key('user', userId)], [this.prefix])) as string | null;
    return json ? (JSON.parse(json) as ActiveCall) : undefined;
  }

  async create(call: ActiveCall): Promise<CreateResult> {
    const { caller, callee } = call;
    const keys = [this.key('call', call.id), this.key('user', caller.userId), this.key('user', callee.userId), `${this.prefix}ids`];
    const out = (await this.run(CREATE, keys, [JSON.stringify(call), call.id, caller.userId, callee.userId, this.prefix, call.rev])) as string[];
    if (out[0] === 'ok') return { ok: true };
    if (out[0] === 'id_taken') return { ok: false, reason: 'id_taken' };
    return { ok: false, reason: 'busy', userId: out[1]!, callId: out[2]! };
  }

  async update(call: ActiveCall, prevRev: number): Promise<boolean> {
    return Number(await this.run(UPDATE, [this.key('call', call.id)], [JSON.stringify(call), prevRev, call.rev])) === 1;
  }

  async remove(callId: string, rev: number): Promise<boolean> {
    return Number(await this.run(REMOVE, [this.key('call', callId), `${this.prefix}ids`], [rev, callId, this.prefix])) === 1;
  }

  async count(): Promise<number> {
    return this.redis.commands.scard(`${this.prefix}ids`);
  }

  async getClaim(callId: string): Promise<ResumeClaim | undefined> {
    const json = await this.redis.commands.hget(this.key('claim', callId), 'json');
    return json ? (JSON.parse(json) as ResumeClaim) : undefined;
  }

  async putClaimIfAbsent(claim: ResumeClaim): Promise<boolean> {
    const keys = [this.key('claim', claim.callId), this.key('claimuser', claim.from.userId)];
    return Number(await this.run(PUT_CLAIM, keys, [JSON.stringify(claim), claim.nonce, claim.from.userId, claim.callId, this.prefix, CLAIM_TTL_MS])) === 1;
  }

  async takeClaim(callId: string, nonce: string): Promise<boolean> {
    return Number(await this.run(TAKE_CLAIM, [this.key('claim', callId)], [nonce, callId, this.prefix])) === 1;
  }

  /** The calls are shared: a node going away leaves them to the others. */
  async close(): Promise<void> {}
}
