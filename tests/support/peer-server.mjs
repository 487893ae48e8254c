// Starts the real PeerJS signaling server (npm `peer`) on 127.0.0.1 for the run and test commands.
//   node tests/support/peer-server.mjs --port 9000 [--path /] [--alive-timeout-ms 60000] [--discovery true]
// With --discovery true, GET <path>peerjs/peers lists the registered peer IDs (tests use it).
// Prints "peer server listening on PORT" once it accepts connections; stops on SIGINT/SIGTERM.
import { PeerServer } from 'peer';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => {
    if (arg.startsWith('--')) pairs.push([arg.slice(2), all[i + 1]]);
    return pairs;
  }, []),
);
const port = Number(args.port ?? 9000);
const path = args.path ?? '/';
const aliveTimeout = Number(args['alive-timeout-ms'] ?? 60000);

PeerServer({
  host: '127.0.0.1',
  port,
  path,
  key: 'peerjs',
  alive_timeout: aliveTimeout,
  expire_timeout: 5000,
  allow_discovery: args.discovery === 'true',
}, () => console.log(`peer server listening on ${port}`));
const stop = () => process.exit(0);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
