// The multi-node tests' shared set-up: one cluster (nodes, PostgreSQL, Redis, nginx) for the file,
// the werift devices a test signs in, closed with it, and the polling helper they all wait with.
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { startCluster, type Cluster, type Node } from '../../apps/server/src/testing/cluster.ts';
import { NodeDevice, type NodeDeviceOptions } from './node-device.ts';
import type { TestUser } from './users.ts';

export type { Cluster, Node };

/** Polls `cond` until it holds; fails with `what` after `ms`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface CallEntry {
  id: string;
  reason: string;
  durationS: number | null;
}

export interface ClusterFixture {
  readonly cluster: Cluster;
  /** The first two nodes. */
  readonly nodes: [Node, Node];
  /** A werift device signed in at `url` (a node's or nginx's), closed after the file. */
  signIn(label: string, url: string, user: TestUser, options?: NodeDeviceOptions): Promise<NodeDevice>;
  /** The call history entries stored so far, oldest first. */
  callEntries(): Promise<CallEntry[]>;
  /** Waits until the history entry of `callId` is stored, then a further `settleMs` for any duplicate to show. */
  callStored(callId: string, settleMs?: number): Promise<CallEntry[]>;
}

/** Starts a cluster before the file's tests and removes it, and every device signed in through it, after them. */
export function useCluster(opts: Parameters<typeof startCluster>[0] = {}): ClusterFixture {
  let cluster: Cluster | undefined;
  const devices: NodeDevice[] = [];
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 2, ...opts });
  }, 120_000);
  afterAll(async () => {
    for (const d of devices) d.close();
    await db?.end();
    await cluster?.close();
  });
  // One connection for the file's reads: a wait polls every 50 ms.
  let db: pg.Pool | undefined;
  const callEntries = async (): Promise<CallEntry[]> => {
    db ??= new pg.Pool({ connectionString: started().databaseUrl, max: 1 });
    const { rows } = await db.query<{ id: string; call_json: string }>("select id, call_json from messages where kind = 'call' order by created_at, id");
    return rows.map((r) => {
      const call = JSON.parse(r.call_json) as { reason: string; durationS?: number | null };
      return { id: r.id, reason: call.reason, durationS: call.durationS ?? null };
    });
  };
  const started = (): Cluster => {
    if (!cluster) throw new Error('the cluster has not started (useCluster is called at the top of a describe)');
    return cluster;
  };
  return {
    get cluster() {
      return started();
    },
    get nodes() {
      return started().nodes as [Node, Node];
    },
    async signIn(label, url, user, options) {
      const device = await NodeDevice.signIn(label, url, user, options);
      devices.push(device);
      return device;
    },
    callEntries,
    async callStored(callId, settleMs = 500) {
      await until(`the history entry of ${callId} is stored`, async () => (await callEntries()).some((e) => e.id === callId), 5_000);
      await new Promise((r) => setTimeout(r, settleMs));
      return callEntries();
    },
  };
}
