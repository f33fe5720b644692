import { describe, expect, it } from 'vitest';
import { parseRoute, routeHref } from './route.ts';

const id = '0b6f2a52-3c1e-4c1a-9a51-6f0f3f1f2a10';

describe('parseRoute', () => {
  it('reads the chat, a conversation and the admin page', () => {
    expect(parseRoute('')).toEqual({ page: 'chat', conversationId: null });
    expect(parseRoute('#/')).toEqual({ page: 'chat', conversationId: null });
    expect(parseRoute(`#/c/${id}`)).toEqual({ page: 'chat', conversationId: id });
    expect(parseRoute('#/admin')).toEqual({ page: 'admin' });
    expect(parseRoute('#/connection-test')).toEqual({ page: 'connection-test' });
  });

  it('falls back to the chat for anything else', () => {
    expect(parseRoute('#/c/not-an-id')).toEqual({ page: 'chat', conversationId: null });
    expect(parseRoute('#/nowhere')).toEqual({ page: 'chat', conversationId: null });
  });

  it('round-trips through routeHref', () => {
    for (const route of [parseRoute(`#/c/${id}`), parseRoute('#/admin'), parseRoute('#/connection-test'), parseRoute('#/')]) {
      expect(parseRoute(routeHref(route))).toEqual(route);
    }
  });
});
