import net from 'node:net';

/**
 * A free TCP port on 127.0.0.1, for a service a test or benchmark starts (the servers cannot take
 * PORT=0 and report back): the kernel picks one, the probe releases it, and the caller takes it; the
 * short race with other processes is acceptable here.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
