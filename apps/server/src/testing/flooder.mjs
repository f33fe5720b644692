// A flooding client in a worker thread of its own, so its send loop does not share the event loop
// of the server it floods (both would otherwise run in the test's process). Bounded: it stops after
// `durationMs` and reports what the server answered.
import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { io } from 'socket.io-client';

const { url, cookie, event, payload, durationMs, sockets: socketCount, burst, deviceId } = workerData;
const counts = { sent: 0, ok: 0, rateLimited: 0, otherError: 0, noAck: 0, connects: 0, refusedConnects: 0, disconnects: 0 };
const end = Date.now() + durationMs;

function make(p) {
  // message.send needs a fresh id per message; call.invite a fresh callId.
  return event === 'message.send' ? { ...p, id: randomUUID() } : { ...p, callId: randomUUID() };
}

async function flood() {
  while (Date.now() < end) {
    const socket = io(url, { transports: ['websocket'], extraHeaders: { cookie, origin: url }, ...(deviceId ? { auth: { deviceId } } : {}), reconnection: false, forceNew: true });
    const up = await new Promise((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('connect_error', () => resolve(false));
    });
    if (!up) {
      counts.refusedConnects++;
      socket.close();
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    counts.connects++;
    while (socket.connected && Date.now() < end) {
      for (let i = 0; i < burst; i++) {
        counts.sent++;
        socket.timeout(5000).emit(event, make(payload), (err, ack) => {
          if (err) counts.noAck++;
          else if (ack.ok) counts.ok++;
          else if (ack.error.code === 'rate_limited') counts.rateLimited++;
          else counts.otherError++;
        });
      }
      await new Promise((r) => setImmediate(r));
    }
    if (!socket.connected) counts.disconnects++;
    socket.close();
  }
}

await Promise.all(Array.from({ length: socketCount }, flood));
await new Promise((r) => setTimeout(r, 300)); // the last acks
parentPort.postMessage(counts);
