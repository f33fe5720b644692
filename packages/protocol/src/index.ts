export * from './common.ts';
export * from './users.ts';
export * from './chat.ts';
export type * from './socket.ts';
export * from './call.ts';
export * from './call-history.ts';
export * from './rtc.ts';
export * from './push.ts';
