// A tiny UDP agent run inside a test namespace by test/trace-kernel.test.ts. It binds silent sinks
// on the given ports (so that no ICMP port-unreachable is ever generated), echoes datagrams whose
// payload starts with "echo" (printing "echoed" once the reply was handed to the kernel), and sends
// datagrams on request: one JSON object per stdin line, answered by "sent" on stdout. A request
// with `"proto": "tcp"` sends one TCP SYN instead (a connection attempt given up at once, so that
// the SYN is never sent again), answered by "sent refused" when the SYN was answered (by the
// closed port's RST: the peer's firewall let it in) or "sent timeout". `{"op": "received"}` is
// answered by "received" and a JSON list of the datagrams the sinks got since the last such
// request, as "SRC:SPORT>DST:DPORT" (DST is the sink's address: the optional second argument lists
// addresses to bind sinks to one by one; without it, sinks listen on every address and DST is *).
// IPv6 addresses (any address with a colon) get IPv6 sockets; "::" listens on every IPv6 address.
import dgram from 'node:dgram';
import net from 'node:net';
import readline from 'node:readline';

const ports = JSON.parse(process.argv[2]);
const addresses = process.argv[3] ? JSON.parse(process.argv[3]) : ['0.0.0.0'];
let received = [];
for (const address of addresses) for (const port of ports) {
  const s = dgram.createSocket({ type: udpType(address), reuseAddr: true });
  s.on('message', (msg, rinfo) => {
    received.push(`${rinfo.address}:${rinfo.port}>${address === '0.0.0.0' || address === '::' ? '*' : address}:${port}`);
    if (!msg.toString().startsWith('echo')) return;
    s.send('reply', rinfo.port, rinfo.address, () => process.stdout.write('echoed\n'));
  });
  s.on('error', () => undefined);
  s.bind(port, address);
}
/** The socket type for an address: IPv6 addresses have colons. */
function udpType(address) {
  return address.includes(':') ? 'udp6' : 'udp4';
}
const senders = new Map();
function sender(src, sport) {
  const key = `${src}:${sport}`;
  let s = senders.get(key);
  if (!s) {
    s = new Promise((resolve) => {
      const sock = dgram.createSocket({ type: udpType(src), reuseAddr: true });
      sock.on('error', () => undefined);
      sock.bind(sport, src, () => resolve(sock));
    });
    senders.set(key, s);
  }
  return s;
}
const rl = readline.createInterface({ input: process.stdin });
/** Sends one SYN from src:sport to dst:dport: the attempt ends on the answer (RST) or after 20 ms. */
function syn(src, sport, dst, dport) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: dst, port: dport, localAddress: src, localPort: sport });
    let done = false;
    const end = (outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => end('timeout'), 20);
    sock.on('connect', () => end('connected'));
    sock.on('error', (e) => end(e.code === 'ECONNREFUSED' ? 'refused' : 'timeout'));
  });
}
rl.on('line', async (line) => {
  const { src, sport, dst, dport, payload, proto, op } = JSON.parse(line);
  if (op === 'received') {
    process.stdout.write(`received ${JSON.stringify(received)}\n`);
    received = [];
    return;
  }
  if (proto === 'tcp') {
    process.stdout.write(`sent ${await syn(src, sport, dst, dport)}\n`);
    return;
  }
  const sock = await sender(src, sport);
  // A send refused by the local firewall (EPERM) still counts as sent: the rules saw the packet.
  sock.send(payload, dport, dst, () => process.stdout.write('sent\n'));
});
process.stdout.write('ready\n');
