/**
 * ocserv 1.1.6 for the bench: certificate-only auth as in test/fixtures/ocserv.ts and the lab-only
 * knobs that keep repeated connects from being throttled. Two instances run side by side:
 *
 * - the main one (10.234.9.1) offers DTLS (`udp-port = 443`, PSK-NEGOTIATE or Cisco's legacy
 *   resumption, the client picks). Its CSTP rows are CSTP-only because the clients are told so
 *   (openconnect and tandem both with `--no-dtls`, so they offer no DTLS and ocserv sends no
 *   X-DTLS-* answer); its DTLS rows carry the data over DTLS.
 * - a CSTP-only one (10.234.9.3, no `udp-port`: no DTLS offered at all) for tandemd and the tray:
 *   the agent has no switch to turn DTLS off and would otherwise use it, which would make its
 *   column a DTLS column compared with CSTP ones.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nsSpawn, sh, sleep } from './sh.mjs';

/** The network "behind the VPN" that ocserv pushes as the only route. */
export const BEHIND_NET = '10.234.20.0/24';

/**
 * The two gateways: where each listens, whether it offers DTLS, and its own pool and device
 * prefix (the two never hand out the same address or race for the same tun name).
 */
export const GATEWAYS = Object.freeze({
  main: { name: 'main', listen: '10.234.9.1', udp: true, pool: '10.234.100.0/24', device: 'tbnv' },
  cstpOnly: { name: 'cstp-only', listen: '10.234.9.3', udp: false, pool: '10.234.101.0/24', device: 'tbnw' },
});

/**
 * The configuration text.
 * @param {string} dir private temp dir for the socket and pid files
 * @param {{chain: string, serverCert: string, serverKey: string}} pki from makePki()
 * @param {{name: string, listen: string, udp: boolean, pool: string, device: string, dpd?: number,
 *   keepalive?: number, route?: string, dns?: string, domain?: string}} gw one of GATEWAYS, or another
 *   lab's gateway (the soak's: a short DPD, its own route and DNS)
 */
export function ocservConfig(dir, pki, gw) {
  return (
    [
      'auth = "certificate"',
      `listen-host = ${gw.listen}`,
      'tcp-port = 443',
      // With a UDP port ocserv answers a client's X-DTLS-* offer; without one it offers no DTLS.
      // `dtls-legacy = false` is not written: cisco-client-compat (below) forces it back on.
      ...(gw.udp ? ['udp-port = 443'] : []),
      `server-cert = ${pki.serverCert}`,
      `server-key = ${pki.serverKey}`,
      `ca-cert = ${pki.chain}`,
      'cert-user-oid = 2.5.4.3',
      `socket-file = ${join(dir, `ocserv-${gw.name}.sock`)}`,
      `pid-file = ${join(dir, `ocserv-${gw.name}.pid`)}`,
      // The default occtl socket (/var/run/occtl.socket) is the host's and would be shared.
      'use-occtl = true',
      `occtl-socket-file = ${join(dir, `occtl-${gw.name}.socket`)}`,
      'run-as-user = nobody',
      'run-as-group = nogroup',
      'isolate-workers = false',
      'max-clients = 16',
      'max-same-clients = 0',
      // Dozens of connects a minute from one address: no ban scoring, no rate limit.
      'max-ban-score = 0',
      'rate-limit-ms = 0',
      'min-reauth-time = 1',
      `keepalive = ${gw.keepalive ?? 30}`,
      `dpd = ${gw.dpd ?? 60}`,
      `mobile-dpd = ${gw.dpd ?? 60}`,
      'idle-timeout = 1200',
      'cookie-timeout = 300',
      'try-mtu-discovery = false',
      // As in the interop test fixture that tandem is tested against (test/fixtures/ocserv.ts).
      'cisco-client-compat = true',
      `device = ${gw.device}`,
      'predictable-ips = true',
      `ipv4-network = ${gw.pool}`,
      `route = ${gw.route ?? BEHIND_NET}`,
      `dns = ${gw.dns ?? '10.234.20.53'}`,
      `default-domain = ${gw.domain ?? 'bench.lab.test'}`,
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
export async function writeOcservConfig(dir, pki, gw) {
  const file = join(dir, `ocserv-${gw.name}.conf`);
  writeFileSync(file, ocservConfig(dir, pki, gw));
  await sh('ocserv', ['--test-config', '-c', file]).catch((err) => {
    throw new Error(`ocserv rejected the bench config (${gw.name}): ${err.stderr || err.message}`);
  });
  return file;
}

/** Starts ocserv in the foreground in namespace `ns` with config file `conf`. */
export function spawnOcserv(ns, conf) {
  return nsSpawn(ns, 'ocserv', ['-f', '-c', conf]);
}

/**
 * SIGKILLs every ocserv process in namespace `ns` (main, sec-mod and the workers that hold the
 * clients' connections), as a crash of the gateway host would end them, and waits until they
 * are gone. Killing only the main process would leave the workers serving their tunnels.
 * @returns {Promise<number>} how many processes were killed
 */
export async function killOcserv(ns) {
  const pids = (await sh('ip', ['netns', 'pids', ns]))
    .split(/\s+/)
    .filter(Boolean)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('ocserv');
      } catch {
        return false;
      }
    });
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (let i = 0; i < 100 && pids.some((pid) => alive(pid)); i++) await sleep(20);
  return pids.length;
}

/** Whether a process exists and is not a zombie. */
function alive(pid) {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
