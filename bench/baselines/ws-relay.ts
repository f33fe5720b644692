// A minimal websocket relay for the bare two-page browser call (bench/setup): each page connects
// with ?id=NAME, and a message {to, ...} is forwarded to that page as is. GET / serves the bare
// app itself (bench/setup/bare.html, also as its pre-connected variant with ?preconnected=1), so
// both pages of a call share one origin on loopback.
// Run: node --import tsx bench/baselines/ws-relay.ts PORT
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.argv[2]);
const page = fs.readFileSync(path.join(import.meta.dirname, '../setup/bare.html'));
const pages = new Map<string, WebSocket>();
const server = http.createServer((req, res) => {
  if (req.url?.split('?')[0] === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
    return;
  }
  res.end('ok');
});
const wss = new WebSocketServer({ server });
wss.on('connection', (ws, req) => {
  const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
  pages.set(id, ws);
  ws.on('message', (data) => {
    const to = (JSON.parse(String(data)) as { to?: string }).to;
    pages.get(to ?? '')?.send(String(data));
  });
  ws.on('close', () => pages.get(id) === ws && pages.delete(id));
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
