// The PeerJS signalling server (npm `peer`) as its README starts it.
// Run: node --import tsx bench/baselines/peerjs-server.ts PORT
import { PeerServer } from 'peer';

const port = Number(process.argv[2]);
PeerServer({ port, host: '127.0.0.1', path: '/', concurrent_limit: 100_000 });
process.on('SIGTERM', () => process.exit(0));
