import fs from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startTestServer } from './harness.ts';
import { startNginx, templateShippedConf, SHIPPED_NGINX_CONF } from './nginx.ts';
import { startRedis } from './redis.ts';

async function redisPing(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('PING\r\n'));
    s.once('data', (d) => (s.end(), resolve(d.toString().trim())));
    s.once('error', reject);
  });
}

describe('the test services', () => {
  it('Redis starts on a free port, restarts empty on the same port, and stops', async () => {
    const redis = await startRedis();
    try {
      expect(await redisPing(redis.port)).toBe('+PONG');
      await redis.kill();
      await expect(redisPing(redis.port)).rejects.toThrow();
      await redis.start();
      expect(await redisPing(redis.port)).toBe('+PONG');
    } finally {
      await redis.stop();
    }
    await expect(redisPing(redis.port)).rejects.toThrow();
  });

  it('nginx runs the shipped deploy/nginx/parley.conf in front of a node, WebSocket included', async () => {
    const server = await startTestServer();
    const nginx = await startNginx([server.url.replace('http://', '')]);
    try {
      const res = await fetch(`${nginx.url}/healthz`);
      expect(res.status).toBe(200);
      const cookie = await server.login('admin@example.com');
      // A socket through the proxy: the upgrade passes and the Host keeps its port (Origin check).
      const { io } = await import('socket.io-client');
      const socket = io(nginx.url, { transports: ['websocket'], extraHeaders: { cookie, origin: nginx.url }, reconnection: false, forceNew: true });
      const hello = await new Promise<{ user: { email: string } }>((resolve, reject) => {
        socket.once('hello', resolve);
        socket.once('connect_error', reject);
      });
      socket.close();
      expect(hello.user.email).toBe('admin@example.com');
    } finally {
      await nginx.stop();
      await server.close();
    }
  });

  it('the shipped nginx file keeps the parts the multi-node tests fill in', () => {
    const conf = templateShippedConf(fs.readFileSync(SHIPPED_NGINX_CONF, 'utf8'), 1234, ['127.0.0.1:1', '127.0.0.1:2']);
    expect(conf).toContain('server 127.0.0.1:2 max_fails=1 fail_timeout=2s backup;');
    expect(conf).not.toContain('ssl_certificate');
    expect(conf).toContain('proxy_set_header Host $http_host;');
  });
});
