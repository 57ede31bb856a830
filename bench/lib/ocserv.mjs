/**
 * ocserv 1.1.6 for the bench: certificate-only auth as in test/fixtures/ocserv.ts, CSTP only (no
 * udp-port) because tandem has no DTLS yet and both clients must take the same
 * data path, and the lab-only knobs that keep repeated connects from being throttled.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh } from './sh.mjs';

/** Network the gateway leases client addresses from. */
export const POOL = '10.234.100.0/24';
/** The network "behind the VPN" that ocserv pushes as the only route. */
export const BEHIND_NET = '10.234.20.0/24';

/**
 * The configuration text.
 * @param {string} dir private temp dir for the socket and pid files
 * @param {{chain: string, serverCert: string, serverKey: string}} pki from makePki()
 * @param {string} listen address ocserv listens on (server end of the veth)
 */
export function ocservConfig(dir, pki, listen) {
  return (
    [
      'auth = "certificate"',
      `listen-host = ${listen}`,
      'tcp-port = 443',
      // No udp-port: ocserv then offers no DTLS at all (no X-DTLS-* headers), so openconnect (also
      // told --no-dtls) and tandem both carry data over CSTP (TLS/TCP). `dtls-legacy = false` is
      // not written: cisco-client-compat (below) forces it back on, and without a UDP port it
      // has nothing to apply to.
      `server-cert = ${pki.serverCert}`,
      `server-key = ${pki.serverKey}`,
      `ca-cert = ${pki.chain}`,
      'cert-user-oid = 2.5.4.3',
      `socket-file = ${join(dir, 'ocserv.sock')}`,
      `pid-file = ${join(dir, 'ocserv.pid')}`,
      'run-as-user = nobody',
      'run-as-group = nogroup',
      'isolate-workers = false',
      'max-clients = 16',
      'max-same-clients = 0',
      // Dozens of connects a minute from one address: no ban scoring, no rate limit.
      'max-ban-score = 0',
      'rate-limit-ms = 0',
      'min-reauth-time = 1',
      'keepalive = 30',
      'dpd = 60',
      'mobile-dpd = 60',
      'idle-timeout = 1200',
      'cookie-timeout = 300',
      'try-mtu-discovery = false',
      // As in the interop test fixture that tandem is tested against (test/fixtures/ocserv.ts).
      'cisco-client-compat = true',
      'device = tbnv',
      'predictable-ips = true',
      `ipv4-network = ${POOL}`,
      `route = ${BEHIND_NET}`,
      'dns = 10.234.20.53',
      'default-domain = bench.lab.test',
      // Debian's default: TLS 1.2 only.
      'tls-priorities = "NORMAL:%SERVER_PRECEDENCE:%COMPAT:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-TLS1.3"',
    ].join('\n') + '\n'
  );
}

/**
 * Writes the config and checks it with `ocserv --test-config` so a rejected option fails the
 * run up front with ocserv's own message.
 * @returns {Promise<string>} the config file path
 */
export async function writeOcservConfig(dir, pki, listen) {
  const file = join(dir, 'ocserv.conf');
  writeFileSync(file, ocservConfig(dir, pki, listen));
  await sh('ocserv', ['--test-config', '-c', file]).catch((err) => {
    throw new Error(`ocserv rejected the bench config: ${err.stderr || err.message}`);
  });
  return file;
}
