// A client process of the idle-connect benchmark: on `connect` it opens its share of sockets,
// `parallel` handshakes at a time, until all are up or the deadline passes, reports, and then
// holds them idle until `close`. A process may hold 20,000 files, so the parent splits big runs.
import { io as ioClient, type Socket } from 'socket.io-client';

export interface IdleJob {
  kind: 'parley' | 'socketio';
  url: string;
  /** Parley: session cookies; bare socket.io: client ids. */
  identities: Array<{ id: string; cookie?: string }>;
  parallel: number;
  deadline: number;
}

export interface IdleReport {
  connected: number;
  failed: number;
  /** Frames received while connecting (Parley before the presence change: presence of everyone). */
  framesReceived: number;
}

const sockets: Socket[] = [];
let frames = 0;

function open(job: IdleJob, me: { id: string; cookie?: string }, i: number): Promise<boolean> {
  const socket: Socket =
    job.kind === 'parley'
      ? ioClient(job.url, { transports: ['websocket'], extraHeaders: { cookie: me.cookie ?? '', origin: job.url }, auth: { deviceId: `idle-${process.pid}-${i}` }, reconnection: false, forceNew: true, timeout: 60_000 })
      : ioClient(job.url, { transports: ['websocket'], auth: { id: me.id }, reconnection: false, forceNew: true, timeout: 60_000 });
  socket.onAny(() => frames++);
  sockets.push(socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(true));
    socket.once('connect_error', () => resolve(false));
  });
}

async function connect(job: IdleJob): Promise<IdleReport> {
  let next = 0;
  let connected = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: Math.min(job.parallel, job.identities.length) }, async () => {
      while (next < job.identities.length && Date.now() < job.deadline) {
        const i = next++;
        if (await open(job, job.identities[i]!, i)) connected++;
        else failed++;
      }
    }),
  );
  return { connected, failed, framesReceived: frames };
}

process.on('message', (m: { type: 'connect'; job: IdleJob } | { type: 'close' }) => {
  if (m.type === 'connect') {
    connect(m.job).then(
      (report) => process.send!({ type: 'connected', report }),
      (err: unknown) => process.send!({ type: 'error', message: String(err) }),
    );
  } else {
    for (const s of sockets) s.disconnect();
    setTimeout(() => process.exit(0), 200);
  }
});
process.send!({ type: 'ready' });
