// The baseline: a bare socket.io relay. Each client joins a room named by its id; `relay` forwards
// one event to another client's room and acknowledges, as Parley acknowledges every event.
// Run: node --import tsx bench/baselines/socketio-relay.ts PORT
import http from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.argv[2]);
const server = http.createServer((_req, res) => res.end('ok'));
const io = new Server(server, { serveClient: false });
io.on('connection', (socket) => {
  const id = String((socket.handshake.auth as { id?: unknown }).id);
  void socket.join(id);
  socket.on('relay', (to: string, event: string, payload: unknown, ack?: (r: unknown) => void) => {
    io.to(to).emit(event, payload);
    ack?.({ ok: true });
  });
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  io.close();
  process.exit(0);
});
