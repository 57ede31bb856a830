/**
 * Redaction of a bundle. The canary test plants a private key, a PKCS#12 file and its
 * passphrase, a PIN, a session cookie, an Authorization header, a password and a run-time secret
 * in text, log, JSON and profile inputs, and looks for each in the raw archive bytes and in every
 * decompressed entry; planted host, user, group and domain names must appear only as tokens, the
 * same token in every file. Then the rules one by one, and mode `none`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Redactor } from '@tandem/common';
import { BundleRedactor, createBundle, inspectBundle, isPublicAddress } from '@tandem/diagnostics';
import { issue, missing, tempDir, titled, writeP12 } from '@tandem/testkit';
import { entries } from './zip-tools.js';

const SECRETS = {
  passphrase: 'P12-pass-Canary-5531',
  pin: '48291375',
  cookie: 'CanaryCookie0123456789ABCDEF',
  cookieContext: 'CanaryContextCookie42',
  bearer: 'CanaryBearerToken.abc.def',
  basic: 'Y2FuYXJ5OmNhbmFyeQ==',
  password: 'Canary-Passw0rd!',
  runtime: 'RUNTIME-SECRET-7f3a9c',
};
const NAMES = {
  host: 'canary-laptop-17',
  user: 'canaryuser',
  group: 'Canary-Engineering',
  domain: 'canary-corp.example',
  gateway: 'vpn1.canary-corp.example',
  publicIp: '8.8.4.4',
};

describe('redaction canary', () => {
  const skip = missing('openssl');
  it(titled('no secret reaches the archive; names appear only as consistent tokens', skip), async (ctx) => {
    if (skip) return ctx.skip();
    const dir = tempDir('diag-canary');
    const cert = await issue({ subject: `CN=${NAMES.user}, O=Canary Corp` });
    const p12 = readFileSync(writeP12(dir, 'user', cert, SECRETS.passphrase));
    const keyLines = cert.keyPem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
    const runtime = new Redactor();
    runtime.addSecret(SECRETS.runtime);

    const log = [
      JSON.stringify({ time: 't1', event: 'auth', user: NAMES.user, host: NAMES.gateway, group: NAMES.group }),
      JSON.stringify({ time: 't2', event: 'cookie', cookie: `webvpn=${SECRETS.cookie}`, pin: SECRETS.pin }),
      JSON.stringify({ time: 't3', msg: `Set-Cookie: webvpn=${SECRETS.cookie}; path=/` }),
      `openconnect --key-password=${SECRETS.passphrase} https://${NAMES.gateway}/`,
      `Authorization: Bearer ${SECRETS.bearer}`,
      `session ${SECRETS.runtime} from ${NAMES.publicIp}`,
      'a key someone pasted:',
      cert.keyPem.trimEnd(),
      `pkcs11:token=x;object=y;pin-value=${SECRETS.pin}`,
    ].join('\n');
    const state = {
      user: { name: NAMES.user, gateway: NAMES.gateway, peer: NAMES.publicIp, lastCookie: SECRETS.cookie },
      config: { password: SECRETS.password, passphrase: SECRETS.passphrase, p12: p12.toString('base64') },
      subject: `CN=${NAMES.user},O=Canary Corp`,
      headers: [`Authorization: Basic ${SECRETS.basic}`, `Cookie: webvpn_context=${SECRETS.cookieContext}`],
    };
    const profile = `<AnyConnectProfile><ServerList><HostEntry><HostName>Gateway</HostName>
<HostAddress>${NAMES.gateway}</HostAddress><UserGroup>${NAMES.group}</UserGroup></HostEntry></ServerList>
<TrustedDNSDomains>*.${NAMES.domain}</TrustedDNSDomains></AnyConnectProfile>`;
    const env = [
      `USER=${NAMES.user}`,
      `HOSTNAME=${NAMES.host}`,
      `VPN_PASSWORD=${SECRETS.password}`,
      `password = "${SECRETS.password}"`,
      `PIN: ${SECRETS.pin}`,
      `cookie=webvpn=${SECRETS.cookie}`,
    ].join('\n');

    const b = createBundle({
      dir,
      toolVersion: '1',
      host: NAMES.host,
      redaction: { known: { users: [NAMES.user], groups: [NAMES.group], domains: [NAMES.domain] }, redactor: runtime },
    });
    await b.add('summary.txt', `Tandem on ${NAMES.host} for ${NAMES.user}, gateway ${NAMES.gateway}\n`);
    await b.add('agent/logs/agent.log', Readable.from(log.split(/(?<=\n)/)));
    await b.add('agent/state.json', JSON.stringify(state));
    await b.add('profiles/user.xml', profile);
    await b.add('system/environment.txt', env);
    await b.add('certificates/user.p12', p12);
    await b.add('certificates/candidates.txt', `subject: CN=${NAMES.user}, O=Canary Corp\nserial: 01AB\n`);
    await b.addCollector('system/shell.txt', async () => `${NAMES.user}@${NAMES.host}:~$ echo ${SECRETS.runtime}\n`);
    const result = await b.finish();
    expect((await inspectBundle(result.path)).ok).toBe(true);

    const raw = readFileSync(result.path);
    const files = await entries(result.path);
    const texts = [...files].map(([name, data]) => [name, data.toString('utf8')] as const);
    const needles = [...Object.values(SECRETS), ...keyLines, p12.toString('base64').slice(0, 40)];
    for (const n of [...needles, ...Object.values(NAMES)]) {
      expect(raw.includes(Buffer.from(n)), `raw archive holds ${n}`).toBe(false);
      for (const [name, text] of texts) expect(text.toLowerCase(), `${name} holds ${n}`).not.toContain(n.toLowerCase());
    }
    for (const [name, text] of texts) expect(text, name).not.toMatch(/PRIVATE KEY-----\s*\n\s*M/);
    expect(files.has('certificates/user.p12')).toBe(false);

    // The same token for the same value in every file that mentions it.
    const map = result.redactionMap.tokens;
    const user = map.user?.[NAMES.user];
    const gateway = map.host?.[NAMES.gateway];
    const host = map.host?.[NAMES.host];
    const group = map.group?.[NAMES.group.toLowerCase()];
    expect([user, gateway, host, group].every((t) => typeof t === 'string')).toBe(true);
    const text = (p: string): string => files.get(p)!.toString('utf8');
    expect(text('summary.txt')).toContain(`${host} for ${user}, gateway ${gateway}`);
    expect(text('agent/logs/agent.log')).toContain(`"user":"${user}","host":"${gateway}","group":"${group}"`);
    expect(text('agent/state.json')).toContain(`"gateway": "${gateway}"`);
    expect(text('profiles/user.xml')).toContain(`<HostAddress>${gateway}</HostAddress><UserGroup>${group}</UserGroup>`);
    expect(text('system/environment.txt')).toContain(`USER=${user}`);
    expect(text('system/shell.txt')).toContain(`${user}@${host}`);
    expect(text('certificates/candidates.txt')).toMatch(/^subject: CN=cn-[0-9a-f]{8}, O=cn-[0-9a-f]{8}$/m);

    const rules = result.manifest.redaction.rules;
    for (const r of [
      'private-key-block',
      'session-cookie',
      'http-authorization',
      'password-value',
      'registered-secret',
    ])
      expect(rules[r], r).toBeGreaterThan(0);
    expect(result.manifest.redaction.mode).toBe('tokens');
    expect(result.manifest.skipped).toMatchObject([{ path: 'certificates/user.p12', reason: 'refused' }]);
    // The map is returned, never archived.
    expect(files.has('redaction-map.json')).toBe(false);
    expect(join(dir, '.').length).toBeGreaterThan(0);
  });
});

describe('redaction rules', () => {
  const key = Buffer.alloc(32, 7);

  it('masks public addresses only', () => {
    for (const a of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '100.63.0.1', '172.32.0.1'])
      expect(isPublicAddress(a), a).toBe(true);
    for (const a of [
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '100.64.0.1',
      '127.0.0.1',
      '169.254.1.1',
      '192.0.2.1',
      '198.51.100.7',
      '203.0.113.9',
      '255.255.255.0',
      '::1',
      'fe80::1',
      'fd00::1',
      '2001:db8::1',
      'ff02::1',
    ])
      expect(isPublicAddress(a), a).toBe(false);
    const r = new BundleRedactor({ key });
    const out = r.text(
      'from 8.8.8.8 via 10.0.0.1 mask 255.255.255.0 at 12:34:56 mac aa:bb:cc:dd:ee:ff v6 2a00:1450::1',
    );
    expect(out).toMatch(
      /^from ip-[0-9a-f]{8} via 10\.0\.0\.1 mask 255\.255\.255\.0 at 12:34:56 mac aa:bb:cc:dd:ee:ff v6 ip-/,
    );
  });

  it('gives the same token to the same value, different ones to different values, under its key only', () => {
    const a = new BundleRedactor({ key, known: { domains: ['example.net'] } });
    const t1 = a.text('gw.example.net and GW.example.net and other.example.net; domain example.net');
    const [x, y, z, d] = t1.match(/(host|dom)-[0-9a-f]{8}/g)!;
    expect(x).toBe(y);
    expect(x).not.toBe(z);
    expect(d).toMatch(/^dom-/);
    const b = new BundleRedactor({ known: { domains: ['example.net'] } });
    expect(b.text('gw.example.net')).not.toBe(x);
  });

  it('masks e-mail addresses, DN values, JWTs and long base64 blobs', () => {
    const r = new BundleRedactor({ key });
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4eHh4eHgifQ.c2lnbmF0dXJl';
    const out = r.text(`mail alice@example.org; subject CN=Alice Smith,OU=Eng,C=DE; ${jwt}; ${'QUJD'.repeat(80)}`);
    expect(out).toMatch(
      /^mail mail-[0-9a-f]{8}; subject CN=cn-[0-9a-f]{8},OU=cn-[0-9a-f]{8},C=DE; \[REDACTED\]; \[base64 blob/,
    );
  });

  it('replaces public certificates in PEM by a token, since base64 hides names but does not remove them', async () => {
    const cert = await issue({ subject: 'CN=gw.secret-site.example' });
    const r = new BundleRedactor({ key });
    const out = r.text(`chain:\n${cert.certPem}`);
    expect(out).toMatch(/^chain:\n\[certificate cert-[0-9a-f]{8} omitted/);
    expect(out).not.toContain('BEGIN CERTIFICATE');
  });

  it('drops the end of a key block whose start was cut off with a log head', () => {
    const r = new BundleRedactor({ key });
    const out = r.text('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAbCdEf0123\n-----END PRIVATE KEY-----\nnext line');
    expect(out).toBe('[private key removed]\nnext line');
  });

  it('a key block without its end loses its body, never the rest of the file', () => {
    const r = new BundleRedactor({ key });
    // Found by the agent canary: the logger's own mask has no END line, and the bundle rule for
    // a cut-off block once removed everything after it — every later log line.
    const logged = '{"msg":"the key pem is -----BEGIN PRIVATE KEY-----[REDACTED]"}\n{"msg":"later line"}\n';
    expect(r.content(logged, 'jsonl')).toContain('later line');
    const half = '{"msg":"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\nAbCd"}\n{"msg":"after"}\n';
    const out = r.content(half, 'jsonl');
    expect(out).not.toContain('MIIEvQIBADAN');
    expect(out).toContain('after');
    const cut = r.text(
      'x\n-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nMHcCAQEE\n',
    );
    expect(cut).toBe('x\n[private key removed]');
  });

  it('mode none keeps names and addresses but still removes secrets', () => {
    const r = new BundleRedactor({ mode: 'none', known: { users: ['bob'] } });
    const out = r.content(
      JSON.stringify({ user: 'bob', peer: '8.8.8.8', password: 'hunter22', msg: 'Authorization: Basic abc' }),
      'json',
    );
    expect(JSON.parse(out)).toEqual({
      user: 'bob',
      peer: '8.8.8.8',
      password: '[REDACTED]',
      msg: 'Authorization: [REDACTED]',
    });
    expect(r.report()).toMatchObject({ mode: 'none', secrets: 'removed', tokens: {} });
  });
});
