/**
 * The demo PKI, made with the openssl CLI (argv arrays only): Tandem Demo Root CA → Tandem Demo
 * Issuing CA (pathlen 0) → server `vpn.demo.test`, machine `CN=laptop-0042, OU=machines` and
 * user `CN=alice, OU=users`. A separate self-signed "Home Router CA" issues a second certificate
 * for alice that the demo profile must reject, so `certs select` has something to explain.
 * EC P-256 keys keep generation to a few hundred milliseconds.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { must } from './proc.mjs';

const DAYS = '7';
export const ISSUING_CA_CN = 'Tandem Demo Issuing CA';
export const SERVER_NAME = 'vpn.demo.test';
/** The machine gateway's name; the same server certificate names both gateways. */
export const MGMT_NAME = 'mgmt.demo.test';
const LEAF = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature'];
const CLIENT = [...LEAF, 'extendedKeyUsage=clientAuth'];
const CA = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];

/** Key + certificate `name` in `dir`, signed by `issuer` or self-signed when issuer is null. */
async function issue(dir, name, subject, extensions, issuer) {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  await must('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  if (!issuer) {
    await must('openssl', [
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-out',
      crt,
      '-subj',
      subject,
      '-days',
      DAYS,
      ...extensions.flatMap((e) => ['-addext', e]),
    ]);
    return { key, crt };
  }
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `[v3]\n${extensions.join('\n')}\n`);
  await must('openssl', ['req', '-new', '-key', key, '-out', csr, '-subj', subject]);
  await must('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    issuer.crt,
    '-CAkey',
    issuer.key,
    '-set_serial',
    `0x${Date.now().toString(16)}${name.length}`,
    '-out',
    crt,
    '-days',
    DAYS,
    '-extfile',
    ext,
    '-extensions',
    'v3',
  ]);
  return { key, crt };
}

/** Copies a certificate (with `chain` appended) and its key into a store directory. */
function place(store, name, issued, chain, mode) {
  writeFileSync(join(store, `${name}.crt`), readFileSync(issued.crt, 'utf8') + chain, { mode: 0o644 });
  writeFileSync(join(store, `${name}.key`), readFileSync(issued.key, 'utf8'), { mode });
}

/**
 * Creates the PKI under `dir` and fills the two stores.
 * @param {string} dir private working directory (CA keys stay here)
 * @param {{ machineStore: string, userStore: string, userUid: number, userGid: number }} stores
 *   machineStore: created 0700 (owned by whoever runs the demo: root in the full story);
 *   userStore: created 0700 and handed to userUid/userGid (alice's own store)
 * @returns {Promise<{ rootCa: string, clientCas: string, serverCert: string, serverKey: string,
 *   machine: { crt: string, key: string }, alice: { crt: string, key: string } }>}
 *   rootCa: trust anchor for the client; clientCas: issuing + root (the gateway's --ca);
 *   serverCert: leaf + issuing CA, what the gateway presents
 */
export async function makeDemoPki(dir, stores) {
  const root = await issue(dir, 'root-ca', '/O=Tandem Demo/CN=Tandem Demo Root CA', CA, null);
  const inter = await issue(
    dir,
    'issuing-ca',
    `/O=Tandem Demo/CN=${ISSUING_CA_CN}`,
    ['basicConstraints=critical,CA:TRUE,pathlen:0', 'keyUsage=critical,keyCertSign,cRLSign'],
    root,
  );
  const server = await issue(
    dir,
    'server',
    `/O=Tandem Demo/CN=${SERVER_NAME}`,
    [...LEAF, 'extendedKeyUsage=serverAuth', `subjectAltName=DNS:${SERVER_NAME},DNS:${MGMT_NAME}`],
    inter,
  );
  const machine = await issue(dir, 'laptop-0042', '/O=Tandem Demo/OU=machines/CN=laptop-0042', CLIENT, inter);
  const alice = await issue(dir, 'alice', '/O=Tandem Demo/OU=users/CN=alice', CLIENT, inter);
  // The decoy: right user name, wrong issuer — exactly what CertificateMatch exists to filter.
  const home = await issue(dir, 'home-ca', '/O=Home/CN=Home Router CA', CA, null);
  const decoy = await issue(dir, 'alice-home', '/O=Home/OU=users/CN=alice', CLIENT, home);
  await must('openssl', ['verify', '-CAfile', root.crt, '-untrusted', inter.crt, server.crt, machine.crt, alice.crt]);

  const interPem = readFileSync(inter.crt, 'utf8');
  const clientCas = join(dir, 'client-cas.pem');
  writeFileSync(clientCas, interPem + readFileSync(root.crt, 'utf8'));
  const serverCert = join(dir, 'server-chain.pem');
  writeFileSync(serverCert, readFileSync(server.crt, 'utf8') + interPem);

  mkdirSync(stores.machineStore, { mode: 0o700, recursive: true });
  chmodSync(stores.machineStore, 0o700);
  place(stores.machineStore, 'laptop-0042', machine, interPem, 0o600);
  mkdirSync(stores.userStore, { mode: 0o700, recursive: true });
  chmodSync(stores.userStore, 0o700);
  place(stores.userStore, 'alice', alice, interPem, 0o600);
  place(stores.userStore, 'alice-home', decoy, readFileSync(home.crt, 'utf8'), 0o600);
  if (process.getuid?.() === 0) {
    for (const f of ['', 'alice.crt', 'alice.key', 'alice-home.crt', 'alice-home.key'])
      chownSync(join(stores.userStore, f), stores.userUid, stores.userGid);
  }
  return { rootCa: root.crt, clientCas, serverCert, serverKey: server.key, machine, alice };
}
