/**
 * Tunnel-up detection with 1 ms resolution.
 *
 * Why not `ping`: before the tunnel exists the destination is unreachable and iputils ping
 * exits at once ("connect: Network is unreachable"), so one long `ping -i 0.005` cannot wait
 * for the tunnel, and a loop that forks `ping -c1` every 5 ms costs ~200 forks/s on a 2-core
 * machine — CPU taken from the very client being timed. Instead a small UDP prober in tbn-cli
 * sends one datagram per millisecond (sends fail with ENETUNREACH until the pushed route
 * exists) to an echo responder on 10.234.20.1 and prints the time of the first echo. Like a
 * first ping reply, that is the first packet that made the round trip through the
 * tunnel. Times are CLOCK_MONOTONIC nanoseconds (process.hrtime.bigint(), system-wide), so the
 * prober's timestamp compares directly with the one the bench takes just before spawning the
 * client. One ICMP ping is sent afterwards as a check (clients.mjs), not timed.
 */
export const ECHO_PORT = 7007;

/** Node source of the echo responder (runs in tbn-srv; argv[1] = address to bind). */
export const ECHO_SERVER = `
const s = require('dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(${ECHO_PORT}, process.argv[1]);`;

/**
 * Node source of the prober (runs in tbn-cli; argv[1] = echo address). Prints
 * "up <monotonic ns>" on the first echo, exits 3 after 30 s without one.
 */
export const PROBER = `
const s = require('dgram').createSocket('udp4');
const dst = process.argv[1];
s.on('error', () => {});
s.on('message', () => { process.stdout.write('up ' + process.hrtime.bigint() + '\\n', () => process.exit(0)); });
setInterval(() => s.send('x', ${ECHO_PORT}, dst, () => {}), 1);
setTimeout(() => process.exit(3), 30000);
process.stdout.write('ready\\n');`;

/**
 * Node source of the soak's sampler (runs in the client namespace; argv[1] = echo address,
 * argv[2] = milliseconds between probes). Every tick sends one datagram carrying its send time
 * and prints "s <monotonic ns>"; every echo prints "r <send ns> <receive ns>". Sends fail
 * silently while no route exists (the tunnel is down): that tick simply gets no echo.
 */
export const SAMPLER = `
const s = require('dgram').createSocket('udp4');
const dst = process.argv[1];
s.on('error', () => {});
s.on('message', (m) => { process.stdout.write('r ' + m.toString() + ' ' + process.hrtime.bigint() + '\\n'); });
setInterval(() => {
  const t = String(process.hrtime.bigint());
  process.stdout.write('s ' + t + '\\n');
  s.send(t, ${ECHO_PORT}, dst, () => {});
}, Number(process.argv[2]));
process.stdout.write('ready\\n');`;
