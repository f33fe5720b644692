// A client process of a benchmark (bench/lib/workers.ts starts it): connects its share of clients,
// says `ready`, runs the scenario on `go`, and sends back what it measured. Both ends of each pair
// live in this process, so a latency is one clock's difference.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connectAll, connectClient, type Client, type Identity, type ServerKind } from './clients.ts';
import { sampleCandidate, sampleSdp } from './sdp.ts';

export interface Pair {
  a: Identity;
  b: Identity;
  /** Chat: the conversation of a and b on Parley. */
  conversationId?: string;
}

export type WorkerJob =
  | { scenario: 'signalling'; kind: ServerKind; url: string; pairs: Pair[]; spreadMs: number; answerSpreadMs: number; iceEach: number; iceGapMs: number; timeoutMs: number }
  | { scenario: 'chat'; kind: ServerKind; url: string; pairs: Pair[]; ratePerS: number; durationMs: number; timeoutMs: number };

export interface WorkerResult {
  latencyMs: Record<string, number[]>;
  /** Messages the clients sent during the measured phase. */
  sent: number;
  completed: number;
  failed: number;
  refused: number;
}

const send = (m: unknown) => process.send!(m);

async function connectPairs(job: WorkerJob): Promise<Array<[Client, Client]>> {
  const ends = job.pairs.flatMap((p) => [p.a, p.b]);
  const clients = await connectAll(ends, 25, (id, i) => connectClient(job.kind, job.url, id, `bench-${i}-${randomUUID().slice(0, 8)}`));
  return job.pairs.map((_, i) => [clients[2 * i]!, clients[2 * i + 1]!]);
}

/**
 * invite → ringing → accept → offer (+ICE) → answer (+ICE) → hang up, for every pair. The invites
 * go out over `spreadMs`; once all of them ring, the callees answer one after another over
 * `answerSpreadMs` (in a shuffled order), so every call is in set-up at once, as when many people
 * call at the same moment; candidates trickle `iceGapMs` apart, as a browser gathers them.
 */
function signalling(job: Extract<WorkerJob, { scenario: 'signalling' }>, pairs: Array<[Client, Client]>, startAt: number): Promise<WorkerResult> {
  const latency: Record<string, number[]> = { offer: [], answer: [], ice: [] };
  const sentAt = new Map<string, number>();
  let sent = 0;
  let completed = 0;
  const stamp = (key: string) => sentAt.set(key, performance.now());
  const arrived = (kind: string, key: string) => {
    const t = sentAt.get(key);
    if (t !== undefined) {
      latency[kind]!.push(performance.now() - t);
      sentAt.delete(key);
    }
  };
  const emit = (c: Client, to: Client, event: string, payload: Record<string, unknown>) => {
    sent++;
    c.emit(to.me, event, payload);
  };
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      resolve({ latencyMs: latency, sent, completed, failed: pairs.length - completed, refused: pairs.reduce((n, [a, b]) => n + a.refused + b.refused, 0) });
    };
    const timer = setTimeout(finish, job.timeoutMs);
    pairs.forEach(([a, b], i) => {
      const callId = randomUUID();
      const sdp = sampleSdp(callId);
      let pending = 2 + 2 * job.iceEach; // offer, answer and every candidate must arrive
      const got = () => {
        if (--pending > 0) return;
        emit(a, b, 'call.hangup', { callId, reason: 'user_hangup' });
      };
      const ice = (from: Client, to: Client, side: 'a' | 'b') => {
        for (let k = 0; k < job.iceEach; k++) {
          setTimeout(() => {
            const candidate = sampleCandidate(side, k);
            stamp(`${callId}:${candidate.candidate}`);
            emit(from, to, 'call.ice', { callId, candidate });
          }, k * job.iceGapMs);
        }
      };
      const answerAt = startAt + job.spreadMs + (((i * 7919) % pairs.length) * job.answerSpreadMs) / pairs.length;
      b.on('call.invite', (p) => {
        if (p.callId !== callId) return;
        emit(b, a, 'call.ringing', { callId });
        setTimeout(() => emit(b, a, 'call.accept', { callId }), Math.max(0, answerAt - Date.now()));
      });
      a.on('call.accept', (p) => {
        if (p.callId !== callId) return;
        stamp(`${callId}:offer`);
        emit(a, b, 'call.offer', { callId, sdp });
        ice(a, b, 'a');
      });
      b.on('call.offer', (p) => {
        if (p.callId !== callId) return;
        arrived('offer', `${callId}:offer`);
        got();
        stamp(`${callId}:answer`);
        emit(b, a, 'call.answer', { callId, sdp });
        ice(b, a, 'b');
      });
      a.on('call.answer', (p) => {
        if (p.callId !== callId) return;
        arrived('answer', `${callId}:answer`);
        got();
      });
      for (const c of [a, b]) {
        c.on('call.ice', (p) => {
          if (p.callId !== callId) return;
          arrived('ice', `${callId}:${p.candidate.candidate}`);
          got();
        });
      }
      b.on('call.hangup', (p) => {
        if (p.callId !== callId) return;
        if (++completed === pairs.length) finish();
      });
      const at = startAt + (i * job.spreadMs) / pairs.length;
      setTimeout(() => emit(a, b, 'call.invite', { callId, toUserId: b.me.id, kind: 'video' }), Math.max(0, at - Date.now()));
    });
  });
}

/** Each pair's first client sends messages at its share of the rate; the second receives them. */
function chat(job: Extract<WorkerJob, { scenario: 'chat' }>, pairs: Array<[Client, Client]>, startAt: number): Promise<WorkerResult> {
  const latency: number[] = [];
  const sentAt = new Map<string, number>();
  let sent = 0;
  const total = Math.round((job.ratePerS * job.durationMs) / 1000);
  pairs.forEach(([, b]) => {
    b.on('message.new', (p) => {
      const id = (p.message as { id: string }).id;
      const t = sentAt.get(id);
      if (t === undefined) return;
      latency.push(performance.now() - t);
      sentAt.delete(id);
    });
  });
  return new Promise((resolve) => {
    const finish = () => {
      clearInterval(tick);
      clearTimeout(timer);
      resolve({ latencyMs: { deliver: latency }, sent, completed: latency.length, failed: sent - latency.length, refused: pairs.reduce((n, [a]) => n + a.refused, 0) });
    };
    const timer = setTimeout(finish, job.durationMs + job.timeoutMs);
    // Sends in 10 ms slices so the rate is even; message i goes to pair i mod n.
    let t0 = 0;
    const tick = setInterval(() => {
      const now = Date.now();
      if (now < startAt) return;
      if (!t0) t0 = now;
      const due = Math.min(total, Math.floor(((now - t0) * job.ratePerS) / 1000) + 1);
      while (sent < due) {
        const [a, b] = pairs[sent % pairs.length]!;
        const id = randomUUID();
        const conversationId = job.pairs[sent % pairs.length]!.conversationId ?? 'c';
        sentAt.set(id, performance.now());
        sent++;
        // Parley: the real message.send. Baselines: the same payload, relayed as message.new.
        if (job.kind === 'parley') a.emit(b.me, 'message.send', { id, conversationId, body: `bench message ${sent}` });
        else a.emit(b.me, 'message.new', { message: { id, conversationId, body: `bench message ${sent}` } });
      }
      if (sent >= total && sentAt.size === 0) finish();
    }, 10);
  });
}

let pairs: Array<[Client, Client]> = [];
let job: WorkerJob;
process.on('message', (m: { type: 'job'; job: WorkerJob } | { type: 'go'; at: number }) => {
  if (m.type === 'job') {
    job = m.job;
    connectPairs(job).then(
      (p) => {
        pairs = p;
        send({ type: 'ready' });
      },
      (err: unknown) => {
        send({ type: 'error', message: String(err) });
      },
    );
    return;
  }
  const run = job.scenario === 'signalling' ? signalling(job, pairs, m.at) : chat(job, pairs, m.at);
  void run.then((result) => {
    send({ type: 'done', result });
    for (const [a, b] of pairs) {
      a.close();
      b.close();
    }
    setTimeout(() => process.exit(0), 200);
  });
});
