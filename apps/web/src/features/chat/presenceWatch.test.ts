import { LIMITS } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { PresenceWatch } from './presenceWatch.ts';

const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

function setup() {
  const sent: Array<{ event: string; userIds: string[] }> = [];
  const snapshots: Array<Record<string, boolean>> = [];
  let online = new Set<string>();
  const watch = new PresenceWatch(
    async (event, userIds) => {
      sent.push({ event, userIds });
      return event === 'presence.subscribe' ? { ok: true, online: Object.fromEntries(userIds.map((u) => [u, online.has(u)])) } : { ok: true };
    },
    (o) => snapshots.push(o),
  );
  return { watch, sent, snapshots, setOnline: (s: Set<string>) => (online = s) };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('PresenceWatch', () => {
  it('subscribes the union of the groups once connected, and only the difference afterwards', async () => {
    const { watch, sent, snapshots, setOnline } = setup();
    setOnline(new Set([id(2)]));
    watch.set('conversations', [id(1), id(2)]);
    expect(sent).toEqual([]); // not connected yet
    watch.connected();
    watch.set('people', [id(2), id(3)]);
    await flush();
    expect(sent).toEqual([
      { event: 'presence.subscribe', userIds: [id(1), id(2)] },
      { event: 'presence.subscribe', userIds: [id(3)] },
    ]);
    expect(snapshots).toEqual([{ [id(1)]: false, [id(2)]: true }, { [id(3)]: false }]);
    sent.length = 0;
    watch.set('people', []); // id(2) is still a conversation partner
    expect(sent).toEqual([{ event: 'presence.unsubscribe', userIds: [id(3)] }]);
  });

  it('subscribes everything again after a reconnect, in batches, never past the cap', async () => {
    const { watch, sent } = setup();
    const many = Array.from({ length: LIMITS.presenceSubscriptionsMax + 50 }, (_, i) => id(i));
    watch.set('conversations', many);
    watch.connected();
    watch.disconnected();
    sent.length = 0;
    watch.connected();
    await flush();
    expect(sent.every((s) => s.event === 'presence.subscribe' && s.userIds.length <= LIMITS.presenceBatchMax)).toBe(true);
    expect(sent.flatMap((s) => s.userIds)).toEqual(many.slice(0, LIMITS.presenceSubscriptionsMax));
  });
});
