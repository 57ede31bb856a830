/**
 * The bench PKI, made with the openssl CLI (argv arrays only): Root CA → Intermediate CA
 * (pathlen 0) → server `vpn.lab.test` and client `machine.lab.test`, all RSA-2048 so the
 * numbers of every run are for the same case: CSTP only, RSA.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh } from './sh.mjs';

const DAYS = '30';

/** One key + CSR + certificate signed by `issuer` (or self-signed when issuer is null). */
async function issue(dir, name, subject, extensions, issuer) {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `[v3]\n${extensions.join('\n')}\n`);
  if (!issuer) {
    await sh('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
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
  await sh('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject]);
  await sh('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    issuer.crt,
    '-CAkey',
    issuer.key,
    '-CAcreateserial',
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

/**
 * Creates the PKI in `dir`.
 * @param {string} dir an empty directory readable by ocserv's unprivileged workers
 * @returns {Promise<{root: string, chain: string, serverCert: string, serverKey: string, cert: string, key: string}>}
 *   root = trust anchor for the clients; chain = intermediate + root for ocserv's ca-cert;
 *   serverCert = server leaf + intermediate (what ocserv presents); cert/key = machine client cert
 */
export async function makePki(dir) {
  const root = await issue(
    dir,
    'root',
    '/O=Tandem Bench/CN=Bench Root CA',
    ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'],
    null,
  );
  const inter = await issue(
    dir,
    'intermediate',
    '/O=Tandem Bench/CN=Bench Intermediate CA',
    ['basicConstraints=critical,CA:TRUE,pathlen:0', 'keyUsage=critical,keyCertSign,cRLSign'],
    root,
  );
  const server = await issue(
    dir,
    'server',
    '/O=Tandem Bench/CN=vpn.lab.test',
    [
      'basicConstraints=critical,CA:FALSE',
      'subjectAltName=DNS:vpn.lab.test',
      'extendedKeyUsage=serverAuth',
      'keyUsage=critical,digitalSignature,keyEncipherment',
    ],
    inter,
  );
  const machine = await issue(
    dir,
    'machine',
    '/O=Tandem Bench/OU=machines/CN=machine.lab.test',
    [
      'basicConstraints=critical,CA:FALSE',
      'subjectAltName=DNS:machine.lab.test',
      'extendedKeyUsage=clientAuth',
      'keyUsage=critical,digitalSignature',
    ],
    inter,
  );
  const chain = join(dir, 'ca-chain.pem');
  writeFileSync(chain, readFileSync(inter.crt, 'utf8') + readFileSync(root.crt, 'utf8'));
  const serverChain = join(dir, 'server-chain.pem');
  writeFileSync(serverChain, readFileSync(server.crt, 'utf8') + readFileSync(inter.crt, 'utf8'));
  // ocserv's workers read the key after dropping to nobody (isolate-workers = false still
  // switches user); the directory is a private temp dir, removed at the end.
  chmodSync(server.key, 0o644);
  // Fail here, not inside two TLS handshakes, if the chain is wrong.
  await sh('openssl', ['verify', '-CAfile', root.crt, '-untrusted', inter.crt, server.crt, machine.crt]);
  return { root: root.crt, chain, serverCert: serverChain, serverKey: server.key, cert: machine.crt, key: machine.key };
}
