import { describe, expect, it } from 'vitest';
import { CallError } from './errors.ts';
import { ACCEPTS, HANGUP, acceptedAction, allows, canTransition, isAnswered, transition, type CallState, type CallTrigger } from './states.ts';

/*
 * Every expectation here is written out by hand from the lifecycle in packages/call/README.md and
 * the protocol's sequence (packages/protocol/src/call.ts), not read from the tables under test.
 */

const ALLOWED: [CallState, CallTrigger, CallState][] = [
  ['idle', 'dial', 'outgoing'],
  ['idle', 'invited', 'ringing'],
  ['idle', 'end', 'ended'],
  ['outgoing', 'remote_accept', 'connecting'],
  ['outgoing', 'end', 'ended'],
  ['ringing', 'accept', 'connecting'],
  ['ringing', 'end', 'ended'],
  ['connecting', 'media_up', 'connected'],
  ['connecting', 'end', 'ended'],
  ['connected', 'media_down', 'reconnecting'],
  ['connected', 'end', 'ended'],
  ['reconnecting', 'media_up', 'connected'],
  ['reconnecting', 'end', 'ended'],
];

const REFUSED: [CallState, CallTrigger][] = [
  ['idle', 'accept'],
  ['idle', 'remote_accept'],
  ['idle', 'media_up'],
  ['idle', 'media_down'],
  ['outgoing', 'dial'],
  ['outgoing', 'invited'],
  ['outgoing', 'accept'],
  ['outgoing', 'media_up'],
  ['outgoing', 'media_down'],
  ['ringing', 'dial'],
  ['ringing', 'invited'],
  ['ringing', 'remote_accept'],
  ['ringing', 'media_up'],
  ['ringing', 'media_down'],
  ['connecting', 'dial'],
  ['connecting', 'invited'],
  ['connecting', 'accept'],
  ['connecting', 'remote_accept'],
  ['connecting', 'media_down'],
  ['connected', 'dial'],
  ['connected', 'invited'],
  ['connected', 'accept'],
  ['connected', 'remote_accept'],
  ['connected', 'media_up'],
  ['reconnecting', 'dial'],
  ['reconnecting', 'invited'],
  ['reconnecting', 'accept'],
  ['reconnecting', 'remote_accept'],
  ['reconnecting', 'media_down'],
  ['ended', 'dial'],
  ['ended', 'invited'],
  ['ended', 'accept'],
  ['ended', 'remote_accept'],
  ['ended', 'media_up'],
  ['ended', 'media_down'],
  ['ended', 'end'],
];

describe('the transition table', () => {
  it.each(ALLOWED)('%s --%s--> %s', (from, trigger, to) => {
    expect(canTransition(from, trigger)).toBe(true);
    expect(transition(from, trigger)).toBe(to);
  });

  it.each(REFUSED)('refuses %s --%s-->', (from, trigger) => {
    expect(canTransition(from, trigger)).toBe(false);
    let thrown: unknown;
    try {
      transition(from, trigger);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CallError);
    expect((thrown as CallError).reason).toBe('invalid_transition');
    expect((thrown as CallError).message).toContain(from);
  });
});

describe('what each state accepts from the server', () => {
  const cases: [CallState, string, string | undefined][] = [
    ['idle', 'call.invite', 'ring'],
    ['idle', 'call.offer', undefined],
    ['idle', 'call.ended', undefined],
    ['outgoing', 'call.ringing', 'remote_ringing'],
    ['outgoing', 'call.accept', 'remote_accept'],
    ['outgoing', 'call.reject', 'end'],
    ['outgoing', 'call.busy', 'end'],
    ['outgoing', 'call.ended', 'end'],
    ['outgoing', 'call.invite', undefined],
    ['outgoing', 'call.offer', 'preconnect'],
    ['outgoing', 'call.answered_elsewhere', undefined],
    ['ringing', 'call.answered_elsewhere', 'answered_elsewhere'],
    ['ringing', 'call.reject', 'declined_elsewhere'],
    ['ringing', 'call.cancel', 'end'],
    ['ringing', 'call.ended', 'end'],
    ['ringing', 'call.offer', 'early'],
    ['ringing', 'call.ice', 'early'],
    ['outgoing', 'call.answer', 'preconnect'],
    ['outgoing', 'call.ice', 'preconnect'],
    ['ringing', 'call.answer', undefined],
    ['ringing', 'call.hangup', undefined],
    ['ringing', 'call.accept', undefined],
    ['connecting', 'call.offer', 'apply'],
    ['connecting', 'call.answer', 'apply'],
    ['connecting', 'call.ice', 'apply'],
    ['connecting', 'call.hangup', 'peer_hangup'],
    ['connecting', 'call.ended', 'end'],
    ['connecting', 'call.cancel', 'end'],
    ['connecting', 'call.ringing', undefined],
    ['connecting', 'call.busy', undefined],
    ['connected', 'call.offer', 'apply'],
    ['connected', 'call.ice', 'apply'],
    ['connected', 'call.hangup', 'peer_hangup'],
    ['connected', 'call.ended', 'end'],
    ['connected', 'call.cancel', undefined],
    ['connected', 'call.answered_elsewhere', undefined],
    ['connected', 'call.invite', undefined],
    ['reconnecting', 'call.answer', 'apply'],
    ['reconnecting', 'call.hangup', 'peer_hangup'],
    ['reconnecting', 'call.cancel', undefined],
    ['ended', 'call.ended', undefined],
    ['ended', 'call.hangup', undefined],
    ['ended', 'call.offer', undefined],
  ];
  it.each(cases)('%s + %s → %s', (state, signal, action) => {
    expect(acceptedAction(state, signal as never)).toBe(action);
  });

  it('accepts nothing once ended', () => {
    expect(ACCEPTS.ended).toEqual({});
  });
});

describe('what each state allows locally', () => {
  it('starts only an idle call, and answers or declines only a ringing one', () => {
    expect(allows('idle', 'start')).toBe(true);
    expect(allows('outgoing', 'start')).toBe(false);
    expect(allows('ringing', 'accept')).toBe(true);
    expect(allows('ringing', 'reject')).toBe(true);
    expect(allows('connecting', 'accept')).toBe(false);
    expect(allows('outgoing', 'reject')).toBe(false);
  });

  it('changes tracks in every state but ended, and restarts ICE, resumes and reports only once answered', () => {
    for (const state of ['idle', 'outgoing', 'ringing', 'connecting', 'connected', 'reconnecting'] as const) {
      expect(allows(state, 'changeTracks')).toBe(true);
    }
    expect(allows('ended', 'changeTracks')).toBe(false);
    for (const state of ['connecting', 'connected', 'reconnecting'] as const) {
      expect(allows(state, 'restartIce')).toBe(true);
      expect(allows(state, 'resume')).toBe(true);
      expect(allows(state, 'reportQuality')).toBe(true);
      expect(isAnswered(state)).toBe(true);
    }
    for (const state of ['idle', 'outgoing', 'ringing', 'ended'] as const) {
      expect(allows(state, 'restartIce')).toBe(false);
      expect(allows(state, 'resume')).toBe(false);
      expect(allows(state, 'reportQuality')).toBe(false);
      expect(isAnswered(state)).toBe(false);
    }
  });

  it('hangs up by cancelling, declining or hanging up, as the protocol names each', () => {
    expect(HANGUP.idle).toEqual({ signal: null, reason: 'cancelled' });
    expect(HANGUP.outgoing).toEqual({ signal: 'call.cancel', reason: 'cancelled' });
    expect(HANGUP.ringing).toEqual({ signal: 'call.reject', reason: 'declined' });
    expect(HANGUP.connecting).toEqual({ signal: 'call.hangup', reason: 'given' });
    expect(HANGUP.connected).toEqual({ signal: 'call.hangup', reason: 'given' });
    expect(HANGUP.reconnecting).toEqual({ signal: 'call.hangup', reason: 'given' });
    expect(HANGUP.ended).toBeNull();
  });
});
