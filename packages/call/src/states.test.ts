import { describe, expect, it } from 'vitest';
import { CallError } from './errors.ts';
import { CALL_STATES, CALL_TRIGGERS, TRANSITIONS, canTransition, transition, type CallState, type CallTrigger } from './states.ts';

const allowed: [CallState, CallTrigger, CallState][] = [];
const refused: [CallState, CallTrigger][] = [];
for (const state of CALL_STATES) {
  const row: Partial<Record<CallTrigger, CallState>> = TRANSITIONS[state];
  for (const trigger of CALL_TRIGGERS) {
    const to = row[trigger];
    if (to === undefined) refused.push([state, trigger]);
    else allowed.push([state, trigger, to]);
  }
}

describe('the transition table', () => {
  it('covers the whole cross-product of states and triggers', () => {
    expect(allowed.length + refused.length).toBe(CALL_STATES.length * CALL_TRIGGERS.length);
    expect(allowed.length).toBe(13);
  });

  it.each(allowed)('%s --%s--> %s', (from, trigger, to) => {
    expect(canTransition(from, trigger)).toBe(true);
    expect(transition(from, trigger)).toBe(to);
  });

  it.each(refused)('refuses %s --%s-->', (from, trigger) => {
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

  it('reaches every state from idle, and ended from every state but ended', () => {
    const seen = new Set<CallState>(['idle']);
    const queue: CallState[] = ['idle'];
    while (queue.length > 0) {
      const from = queue.shift()!;
      for (const to of Object.values(TRANSITIONS[from]) as CallState[]) {
        if (!seen.has(to)) {
          seen.add(to);
          queue.push(to);
        }
      }
    }
    expect([...seen].sort()).toEqual([...CALL_STATES].sort());
    for (const state of CALL_STATES) {
      if (state !== 'ended') expect(transition(state, 'end')).toBe('ended');
    }
  });

  it('has no way out of ended', () => {
    expect(Object.keys(TRANSITIONS.ended)).toEqual([]);
  });
});
