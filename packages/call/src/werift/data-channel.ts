/*
 * A data channel beside a call's media, on the werift peer connection the engine created (see
 * WeriftFactoryOptions.onPeerConnection). The caller opens it before its first offer, so the
 * offer carries it and no extra negotiation is needed; the callee takes the one that arrives.
 */
import type { RTCDataChannel, RTCPeerConnection } from 'werift';

const DEFAULT_OPEN_TIMEOUT_MS = 15_000;

function whenOpen(channel: RTCDataChannel, timeoutMs: number): Promise<RTCDataChannel> {
  if (channel.readyState === 'open') return Promise.resolve(channel);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`data channel "${channel.label}" did not open within ${timeoutMs} ms (${channel.readyState})`));
    }, timeoutMs);
    const { unSubscribe: off } = channel.stateChanged.subscribe((state) => {
      if (state === 'open') {
        clearTimeout(timer);
        off();
        resolve(channel);
      } else if (state === 'closed') {
        clearTimeout(timer);
        off();
        reject(new Error(`data channel "${channel.label}" closed before it opened`));
      }
    });
  });
}

/**
 * Creates the channel `label` on `pc` (call it from onPeerConnection, before the engine adds its
 * tracks, on the side that makes the first offer) and resolves once it is open.
 */
export function openDataChannel(pc: RTCPeerConnection, label: string, timeoutMs = DEFAULT_OPEN_TIMEOUT_MS): Promise<RTCDataChannel> {
  return whenOpen(pc.createDataChannel(label, { ordered: true }), timeoutMs);
}

/** Resolves with the channel `label` the peer opens on `pc`, once it is open. */
export function acceptDataChannel(pc: RTCPeerConnection, label: string, timeoutMs = DEFAULT_OPEN_TIMEOUT_MS): Promise<RTCDataChannel> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no data channel "${label}" from the peer within ${timeoutMs} ms`));
    }, timeoutMs);
    const { unSubscribe: off } = pc.onDataChannel.subscribe((channel) => {
      if (channel.label !== label) return;
      clearTimeout(timer);
      off();
      whenOpen(channel, timeoutMs).then(resolve, reject);
    });
  });
}
