/**
 * The app's few places, kept in `location.hash` so a reload or the back button lands where the
 * person was, without a router dependency or server-side routes.
 */
export type Route =
  | { page: 'chat'; conversationId: string | null }
  | { page: 'admin' }
  | { page: 'connection-test' }
  | { page: 'settings' };

const CONVERSATION = /^#\/c\/([0-9a-f-]{36})$/i;

export function parseRoute(hash: string): Route {
  if (hash === '#/admin') return { page: 'admin' };
  if (hash === '#/connection-test') return { page: 'connection-test' };
  if (hash === '#/settings') return { page: 'settings' };
  const match = CONVERSATION.exec(hash);
  return { page: 'chat', conversationId: match?.[1]?.toLowerCase() ?? null };
}

export function routeHref(route: Route): string {
  if (route.page === 'admin') return '#/admin';
  if (route.page === 'connection-test') return '#/connection-test';
  if (route.page === 'settings') return '#/settings';
  return route.conversationId ? `#/c/${route.conversationId}` : '#/';
}
