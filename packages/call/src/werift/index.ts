// `@parley/call/werift`: the call engine in Node, on werift. A separate entry so the browser
// bundle never pulls werift in.
export { acceptDataChannel, openDataChannel } from './data-channel.ts';
export { defaultWeriftCodecs, weriftLocalStream, weriftPeerConnectionFactory } from './factory.ts';
export type { WeriftCallSession, WeriftFactoryOptions, WeriftPeerConnectionFactory } from './factory.ts';
export { WeriftPeerConnection } from './peer-connection.ts';
export { forwardRtp, RtpCounter, RtpSource } from './media.ts';
export type { ForwardRtpOptions, RtpSourceOptions, RtpWindow } from './media.ts';
