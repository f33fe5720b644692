// What the set-up benchmark records inside each page, identically for Parley and the bare app: an
// init script (plain JavaScript in a string, so no compiler helper leaks into the page) that wraps
// the page's RTCPeerConnection, getUserMedia, fetch and WebSocket, and notes the time of each step
// of a call set-up. Times are `performance.timeOrigin + performance.now()`: milliseconds on the
// machine's clock, comparable between two pages of one browser.
//
// The first remote frame: every remote video track is also played into a tiny <video> of the
// probe's own, and requestVideoFrameCallback fires when its first frame is presented — the same
// element and the same callback for both apps, so neither app's rendering is measured.

/** One step of a page's call set-up, with the time it happened. */
export interface ProbeEvent {
  /** e.g. `click`, `gum:start`, `fetch:end /api/rtc-config`, `ws:out call.accept`, `pc1:ice checking`, `pc1:first-frame`. */
  step: string;
  at: number;
}

export const PROBE_SCRIPT = String.raw`(() => {
  if (window.__probe) return;
  const now = () => performance.timeOrigin + performance.now();
  const events = [];
  const note = (step) => events.push({ step, at: now() });
  let firstFrames = 0;
  let pcCount = 0;
  window.__probe = {
    reset() { events.length = 0; firstFrames = 0; },
    events() { return events.slice(); },
    firstFrames() { return firstFrames; },
  };
  document.addEventListener('click', () => note('click'), true);
  // Main-thread tasks over 50 ms: what delays a page's handling of the next message.
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) events.push({ step: 'longtask ' + Math.round(e.duration) + ' ms', at: performance.timeOrigin + e.startTime });
    }).observe({ type: 'longtask', buffered: false });
  } catch {}

  const md = navigator.mediaDevices;
  if (md && md.getUserMedia) {
    const gum = md.getUserMedia.bind(md);
    md.getUserMedia = async (c) => {
      note('gum:start');
      try { return await gum(c); } finally { note('gum:end'); }
    };
  }

  const nativeFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const path = new URL(url, location.href).pathname;
    note('fetch:start ' + path);
    try { return await nativeFetch(input, init); } finally { note('fetch:end ' + path); }
  };

  // socket.io frames are '42["event",…]' (with an ack id after 42); the bare app sends {"type":…}.
  const frameName = (data) => {
    if (typeof data !== 'string') return null;
    const io = /^42\d*\["([^"]+)"/.exec(data);
    if (io) return io[1];
    if (/^43\d*/.test(data)) return 'ack';
    if (data[0] === '{') { try { return JSON.parse(data).type || null; } catch { return null; } }
    return null;
  };
  const NativeWS = window.WebSocket;
  window.WebSocket = new Proxy(NativeWS, {
    construct(target, args, newTarget) {
      const ws = Reflect.construct(target, args, newTarget);
      const send = ws.send.bind(ws);
      ws.send = (data) => { const n = frameName(data); if (n) note('ws:out ' + n); return send(data); };
      ws.addEventListener('message', (e) => { const n = frameName(e.data); if (n) note('ws:in ' + n); });
      return ws;
    },
  });

  const Native = window.RTCPeerConnection;
  const proto = Native.prototype;
  const ids = new WeakMap();
  const idOf = (pc) => ids.get(pc) || '?';
  for (const m of ['createOffer', 'createAnswer', 'setLocalDescription', 'setRemoteDescription']) {
    const orig = proto[m];
    proto[m] = async function (...args) {
      const d = args[0];
      const what = m.startsWith('set') ? ' ' + ((d && d.type) || (m === 'setLocalDescription' ? (this.signalingState === 'have-remote-offer' ? 'answer' : 'offer') : '?')) : '';
      note(idOf(this) + ':' + m + what + ' start');
      try { return await orig.apply(this, args); } finally { note(idOf(this) + ':' + m + what + ' end'); }
    };
  }
  const watchVideo = (pc, track) => {
    const id = idOf(pc);
    track.addEventListener('unmute', () => note(id + ':video unmute'), { once: true });
    const v = document.createElement('video');
    v.muted = true;
    v.playsInline = true;
    v.style.cssText = 'position:fixed;left:0;bottom:0;width:4px;height:4px;pointer-events:none';
    v.srcObject = new MediaStream([track]);
    (document.body || document.documentElement).appendChild(v);
    v.requestVideoFrameCallback(() => {
      note(id + ':first-frame');
      firstFrames++;
      v.srcObject = null;
      v.remove();
    });
    v.play().catch(() => undefined);
  };
  window.RTCPeerConnection = new Proxy(Native, {
    construct(target, args, newTarget) {
      const pc = Reflect.construct(target, args, newTarget);
      const id = 'pc' + ++pcCount;
      ids.set(pc, id);
      note(id + ':created');
      let firstCandidate = true;
      pc.addEventListener('icegatheringstatechange', () => note(id + ':gathering ' + pc.iceGatheringState));
      pc.addEventListener('icecandidate', (e) => { if (e.candidate && firstCandidate) { firstCandidate = false; note(id + ':first-candidate'); } });
      pc.addEventListener('iceconnectionstatechange', () => note(id + ':ice ' + pc.iceConnectionState));
      pc.addEventListener('connectionstatechange', () => note(id + ':dtls ' + pc.connectionState));
      pc.addEventListener('track', (e) => { if (e.track.kind === 'video') watchVideo(pc, e.track); });
      return pc;
    },
  });
})();`;
