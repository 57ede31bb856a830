/**
 * Tunnel-up detection with 1 ms resolution. `ping` cannot be used before the tunnel exists:
 * iputils ping exits at once when the destination is unreachable. Instead a UDP prober in the
 * client namespace sends a datagram every millisecond (send errors are expected until the
 * route exists) to an echo responder behind the VPN, and prints the epoch of the first reply.
 */
export const ECHO_PORT = 7007;

/** Node source of the echo responder (run in the server namespace). */
export const ECHO_SERVER = `
const s = require('dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(${ECHO_PORT}, process.argv[1], () => console.log('ready'));`;

/** Node source of the prober (run in the client namespace): prints the first reply's epoch ms. */
export const PROBER = `
const s = require('dgram').createSocket('udp4');
const dst = process.argv[1];
s.on('error', () => {});
s.on('message', () => { console.log(String(Date.now())); process.exit(0); });
const tick = () => s.send('x', ${ECHO_PORT}, dst, () => {});
setInterval(tick, 1);
setTimeout(() => process.exit(3), 20000);`;
