/**
 * `tandem-lab-gateway`: wires options, trust store, aggregate-auth, CSTP and the data plane,
 * prints `{"event":"listening",…}` once the port is bound, and exits 0 on SIGTERM/SIGINT.
 * Exit codes: 0 clean, 64 usage error, 70 startup failure.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { isTandemError } from '@tandem/common';
import { AggAuth } from './aggauth.js';
import { CstpServer } from './cstp-server.js';
import { EchoResponder, type DataPlane } from './data-plane.js';
import { DtlsGateway } from './dtls-channel.js';
import { Events } from './events.js';
import { parseOptions, USAGE, type GatewayOptions } from './options.js';
import { loadOfferedProfiles, manifestXml } from './profiles.js';
import { AddressPool, ChallengeStore, SessionStore } from './sessions.js';
import { createGatewayServer } from './tls-server.js';
import { TrustStore, pemBlocks } from './trust.js';
import { TunBridge } from './tun-bridge.js';

/** A running gateway (returned for in-process tests). */
export interface RunningGateway {
  port: number;
  close(): Promise<void>;
}

async function dataPlaneFor(o: GatewayOptions, pool: AddressPool | null, events: Events): Promise<DataPlane | null> {
  if (!pool) return null;
  if (o.echo) return new EchoResponder();
  if (process.getuid?.() !== 0) throw new Error('--pool without --echo needs root for the TUN device (or add --echo)');
  const tun = await TunBridge.open({
    name: o.tunName,
    address: pool.gateway,
    prefix: pool.prefix,
    mtu: o.mtu,
    onError: (err) => events.error('tun', err),
  });
  events.emit({ event: 'tun-up', device: tun.name, address: pool.gateway, prefix: pool.prefix });
  return tun;
}

/** The DTLS endpoint on `port`, or on any UDP port when that is taken and `anyPort` allows it. */
function listenDtls(host: string, port: number, anyPort: boolean, events: Events): DtlsGateway {
  try {
    return DtlsGateway.listen(host, port, events);
  } catch (err) {
    if (!anyPort) throw err;
    return DtlsGateway.listen(host, 0, events);
  }
}

/** Starts a gateway with parsed options. */
export async function startGateway(o: GatewayOptions, events: Events = new Events()): Promise<RunningGateway> {
  const trust = await TrustStore.load(o.caFile, o.crlFile);
  const certPem = readFileSync(o.certFile, 'utf8');
  const keyPem = readFileSync(o.keyFile, 'utf8');
  const first = pemBlocks(certPem, 'CERTIFICATE')[0];
  if (!first) throw new Error(`no certificate in ${o.certFile}`);
  const serverCertHash = createHash('sha1').update(new X509Certificate(first).raw).digest('hex').toUpperCase();
  const sessions = new SessionStore(o.sessionTimeout * 1000);
  const challenges = new ChallengeStore(o.challengeTtl * 1000);
  const pool = o.pool ? new AddressPool(o.pool) : null;
  const dataPlane = await dataPlaneFor(o, pool, events);
  const profiles = loadOfferedProfiles(o);
  const manifest = manifestXml(profiles);
  const auth = new AggAuth({ options: o, trust, challenges, sessions, events, serverCertHash, manifest });
  const cstp = new CstpServer({ options: o, sessions, pool, dataPlane, events });
  const server = createGatewayServer({ cert: certPem, key: keyPem, trust, auth, cstp, events, profiles, sessions });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let dtls: DtlsGateway | null = null;
  try {
    // UDP on the TLS listener's address and port, as AnyConnect gateways do. A port picked by
    // the system for TCP may be taken for UDP; then any UDP port will do (X-DTLS-Port names it).
    if (o.dtls) dtls = listenDtls(o.host, port, o.port === 0, events);
  } catch (err) {
    server.close();
    dataPlane?.close();
    throw err;
  }
  cstp.useDtls(dtls);
  events.emit({
    event: 'listening',
    address: o.host,
    port,
    mca: o.mca,
    group: o.group,
    pool: o.pool,
    dataPlane: dataPlane ? (o.echo ? 'echo' : 'tun') : 'none',
    dtls: dtls ? dtls.port : null,
  });
  return {
    port,
    async close() {
      await cstp.closeAll();
      dtls?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive connections would hold close() open; the listener is what matters.
        setTimeout(resolve, 500).unref();
      });
      dataPlane?.close();
    },
  };
}

async function main(argv: string[]): Promise<void> {
  let options: GatewayOptions | null;
  try {
    options = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`tandem-lab-gateway: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(isTandemError(err) ? 64 : 70);
  }
  if (!options) {
    process.stdout.write(USAGE);
    return;
  }
  const events = new Events();
  let gw: RunningGateway | null = null;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    events.emit({ event: 'stopping', signal });
    const done = (): never => process.exit(0);
    if (!gw) done();
    else gw.close().then(done, done);
  };
  // Installed before startup so a signal during startup is also a clean exit.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    gw = await startGateway(options, events);
  } catch (err) {
    events.emit({ event: 'fatal', message: err instanceof Error ? err.message : String(err) });
    process.exit(70);
  }
  // A bug in one connection is logged, never fatal: the lab gateway must outlive hostile peers.
  process.on('uncaughtException', (err) => events.error('uncaught', err));
  process.on('unhandledRejection', (err) => events.error('unhandled-rejection', err));
}

const entry = process.argv[1] ?? '';
if (/tandem-lab-gateway(\.js)?$|lab-gateway[\\/]dist[\\/]main\.js$/.test(entry)) {
  void main(process.argv.slice(2));
}
