/*
 * Test doubles for the engine, as `@parley/call/testing`: a fake RTCPeerConnection (the JSEP state
 * machine without a network, with RTP counters a test can stop per direction), a manual clock and
 * a recording logger.
 */
export { FakePeerConnection, FakeStream, FakeTrack, fakeMedia, fakePeerConnectionFactory, settle } from './fake-peer-connection.ts';
export { ManualClock, RecordingLogger } from './clock.ts';
export type { LogLine } from './clock.ts';
