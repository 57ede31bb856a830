/**
 * Unit tests of the agent's small modules: options, environment hygiene, resolv.conf parsing
 * and the journal-aware network observer (its netlink link events, which need a real interface,
 * are in test/agent-link-events.test.ts), user-certificate selection on CertificateInfo,
 * connect target resolution, snapshot mapping (no cookie can reach the wire shape), and the
 * driver's refusal without a data plane.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateModel, selectCertificate } from '@tandem/certs';
import { ErrorCodes, nullLogger, TandemError, type Logger } from '@tandem/common';
import { contract, validate, type CertificateInfo } from '@tandem/contract';
import type { CallContext } from '@tandem/ipc/server';
import type { EngineSnapshot, TndVerdict, TunnelSnapshot } from '@tandem/engine';
import { defaultClientInitialization, mergeProfiles, parseProfile, type ClientInitialization } from '@tandem/profile';
import { writeJournal } from '@tandem/tunnel';
import { AgentTunnelDriver, NO_DATA_PLANE } from '../src/adapters/driver.js';
import { remoteIdentityFor } from '../src/adapters/remote-signer.js';
import { ResolvConfObserver } from '../src/adapters/network-observer.js';
import { parseResolvConf } from '@tandem/connection';
import { resolveConnectTarget } from '../src/connect-target.js';
import { SignerRegistry } from '../src/adapters/user-presence.js';
import { childEnv, isDangerousVariable, scrubEnvironment } from '../src/environment.js';
import { parseOptions } from '../src/options.js';
import { wireState, wireStats, wireStatus } from '../src/snapshot-map.js';
import { EKU, issue, KU, type Issued, isRoot } from '@tandem/testkit';

describe('options', () => {
  it('defaults, TANDEM_SOCKET, and refusals', () => {
    const o = parseOptions(['--foreground'], {});
    expect(o).toMatchObject({
      foreground: true,
      socketPath: '/run/tandem/tandemd.sock',
      profileDir: '/etc/tandem/profiles',
      stateDir: '/run/tandem',
      machineStoreDir: '/etc/tandem/certs/machine',
      adminGroup: null,
      logLevel: 'info',
      logFormat: 'text',
    });
    expect(parseOptions([], { TANDEM_SOCKET: '/run/x.sock' }).socketPath).toBe('/run/x.sock');
    expect(
      parseOptions(['--socket', '/a.sock', '--admin-group', 'vpnadmin', '--log-format', 'json'], {
        TANDEM_SOCKET: '/b.sock',
      }),
    ).toMatchObject({ socketPath: '/a.sock', adminGroup: 'vpnadmin', logFormat: 'json' });
    const code = (argv: string[]) => {
      try {
        parseOptions(argv, {});
        return 'ok';
      } catch (e) {
        return (e as TandemError).code;
      }
    };
    expect(code(['--socket', 'rel.sock'])).toBe(ErrorCodes.USAGE);
    expect(code(['--log-level', 'dump'])).toBe(ErrorCodes.USAGE);
    expect(code(['--admin-group', 'a;b'])).toBe(ErrorCodes.USAGE);
    expect(code(['--bogus'])).toBe(ErrorCodes.USAGE);
    expect(code(['positional'])).toBe(ErrorCodes.USAGE);
    const lab = parseOptions(
      [
        '--resolve',
        'VPN.lab.test:10.0.0.1',
        '--resolve',
        'v6.lab.test:[fd00::1]',
        '--gateway-ca',
        '/etc/tandem/ca.pem',
      ],
      {},
    );
    expect([...lab.resolve]).toEqual([
      ['vpn.lab.test', '10.0.0.1'],
      ['v6.lab.test', 'fd00::1'],
    ]);
    expect(lab.gatewayCaFile).toBe('/etc/tandem/ca.pem');
    expect(code(['--resolve', 'host-without-ip'])).toBe(ErrorCodes.USAGE);
    expect(code(['--gateway-ca', 'ca.pem'])).toBe(ErrorCodes.USAGE);
  });

  it('settings and Secure Client profile directories: defaults, overrides, disabled', () => {
    expect(parseOptions([], {})).toMatchObject({
      settingsDir: '/var/lib/tandem',
      ciscoProfileDir: '/opt/cisco/secureclient/vpn/profile',
    });
    expect(parseOptions(['--settings-dir', '/srv/s', '--cisco-profile-dir', '/srv/c'], {})).toMatchObject({
      settingsDir: '/srv/s',
      ciscoProfileDir: '/srv/c',
    });
    expect(parseOptions(['--no-cisco-profiles'], {}).ciscoProfileDir).toBeNull();
    expect(parseOptions(['--cisco-profile-dir', '/srv/c', '--no-cisco-profiles'], {}).ciscoProfileDir).toBeNull();
    expect(() => parseOptions(['--settings-dir', 'rel'], {})).toThrow(
      expect.objectContaining({ code: ErrorCodes.USAGE }),
    );
    expect(() => parseOptions(['--cisco-profile-dir', 'rel'], {})).toThrow(
      expect.objectContaining({ code: ErrorCodes.USAGE }),
    );
  });
});

describe('environment hygiene', () => {
  it('removes every dangerous variable (names only reported) and keeps the rest', () => {
    const env: NodeJS.ProcessEnv = {
      NODE_OPTIONS: '--require /tmp/p.js',
      NODE_PATH: '/tmp',
      NODE_EXTRA_CA_CERTS: '/tmp/x',
      NODE_TLS_REJECT_UNAUTHORIZED: '0',
      SSL_CERT_FILE: '/a',
      SSL_CERT_DIR: '/b',
      OPENSSL_CONF: '/tmp/y',
      OPENSSL_MODULES: '/m',
      LD_PRELOAD: '/x.so',
      LD_LIBRARY_PATH: '/l',
      BASH_ENV: '/e',
      http_proxy: 'http://u:pw@p',
      HTTPS_PROXY: 'x',
      no_proxy: '*',
      HOME: '/root',
      TANDEM_SOCKET: '/s',
    };
    const report = scrubEnvironment(env);
    expect(report.removed).toEqual([
      'BASH_ENV',
      'HTTPS_PROXY',
      'LD_LIBRARY_PATH',
      'LD_PRELOAD',
      'NODE_EXTRA_CA_CERTS',
      'NODE_OPTIONS',
      'NODE_PATH',
      'NODE_TLS_REJECT_UNAUTHORIZED',
      'OPENSSL_CONF',
      'OPENSSL_MODULES',
      'SSL_CERT_DIR',
      'SSL_CERT_FILE',
      'http_proxy',
      'no_proxy',
    ]);
    expect(report.nodeOptionsApplied).toBe(true);
    expect(env).toEqual({ HOME: '/root', TANDEM_SOCKET: '/s' });
  });

  it('childEnv is a fixed minimal environment and drops dangerous extras', () => {
    expect(childEnv()).toEqual({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', LC_ALL: 'C' });
    expect(childEnv({ reason: 'connect', LD_PRELOAD: '/x.so', OPENSSL_CONF: '/y' })).toEqual({
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C',
      LC_ALL: 'C',
      reason: 'connect',
    });
    expect(isDangerousVariable('LD_AUDIT')).toBe(true);
    expect(isDangerousVariable('PATH')).toBe(false);
  });
});

describe('network observer', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('parses nameserver/search/domain (last search wins), ignoring junk', () => {
    expect(
      parseResolvConf(
        '# c\nnameserver 10.0.0.1\nnameserver fe80::1%eth0\nnameserver $(id)\ndomain a.example\nsearch Corp.Example.  b.example bad_label;x\noptions ndots:2\n',
      ),
    ).toEqual({ dnsServers: ['10.0.0.1', 'fe80::1%eth0'], dnsDomains: ['corp.example', 'b.example'] });
  });

  it.skipIf(!isRoot)('uses the pre-tunnel resolv.conf from a live journal, not the VPN-pushed one', () => {
    const dir = mkdtempSync('/run/tandem-agent-obs-');
    dirs.push(dir);
    const resolv = join(dir, 'resolv.conf');
    writeFileSync(resolv, 'search corp.vpn.example\nnameserver 10.8.0.53\n');
    const journalDir = join(dir, 'netjournal');
    const observer = new ResolvConfObserver({ resolvConf: resolv, journalDir, log: nullLogger });
    expect(observer.current()).toEqual({ dnsDomains: ['corp.vpn.example'], dnsServers: ['10.8.0.53'] });
    writeJournal(journalDir, {
      version: 1,
      owner: { pid: process.pid, startTicks: null },
      createdAt: new Date().toISOString(),
      phase: 'connected',
      before: {
        routes4: [],
        routes6: [],
        rules4: [],
        rules6: [],
        resolvConf: {
          path: resolv,
          kind: 'file',
          contentBase64: Buffer.from('search home.example\nnameserver 192.168.1.1\n').toString('base64'),
        },
      },
      intended: { gateway: '192.0.2.1', routes4: [], routes6: [], dns: ['10.8.0.53'], domains: ['corp.vpn.example'] },
      vpncStateDir: dir,
    });
    expect(observer.current()).toEqual({ dnsDomains: ['home.example'], dnsServers: ['192.168.1.1'] });
  });

  it('reports a rewritten resolv.conf once (debounced)', async () => {
    const dir = mkdtempSync('/tmp/tandem-agent-obs-');
    dirs.push(dir);
    const resolv = join(dir, 'resolv.conf');
    writeFileSync(resolv, 'nameserver 10.0.0.1\n');
    const observer = new ResolvConfObserver({
      resolvConf: resolv,
      journalDir: join(dir, 'none'),
      log: nullLogger,
      debounceMs: 100,
      linkEvents: false,
    });
    let calls = 0;
    const off = observer.onChange(() => calls++);
    writeFileSync(resolv, 'nameserver 10.0.0.2\n');
    writeFileSync(`${resolv}.tmp`, 'x');
    writeFileSync(resolv, 'nameserver 10.0.0.3\n');
    await new Promise((r) => setTimeout(r, 400));
    off();
    expect(calls).toBe(1);
    expect(observer.current()?.dnsServers).toEqual(['10.0.0.3']);
  });
});

describe('user certificate selection on what the user process offers', () => {
  const init = (xml: string): ClientInitialization =>
    parseProfile(
      Buffer.from(
        `<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/"><ClientInitialization>${xml}</ClientInitialization></AnyConnectProfile>`,
      ),
    ).document.clientInitialization;
  const DAY = 86_400_000;
  const info = (i: Issued, chain: Issued[] = []): CertificateInfo => {
    const model = new CertificateModel(Buffer.from(i.cert.rawData));
    return {
      sha256: model.sha256,
      subject: model.subjectDn,
      issuer: model.issuerDn,
      notBefore: model.notBefore.toISOString(),
      notAfter: model.notAfter.toISOString(),
      keyType: model.publicKey.type,
      der: model.der.toString('base64'),
      ...(chain.length ? { chain: chain.map((c) => Buffer.from(c.cert.rawData).toString('base64')) } : {}),
    };
  };
  /** A user process that offers `offered` and signs with the matching test key. */
  const userProcess = (
    offered: CertificateInfo[],
    keys: Map<string, Issued>,
    choose?: (params: Record<string, unknown>) => { cancelled: boolean; sha256?: string },
  ) => {
    const signed: string[] = [];
    const ctx = {
      peer: { uid: 1000, gid: 1000, pid: 1 },
      reverse: async (method: string, params: Record<string, unknown>) => {
        if (method === 'certs.list') return { certificates: offered };
        if (method === 'certs.choose') {
          // What an API 1.4 client answers: it has no handler for the request.
          if (!choose) throw new TandemError(ErrorCodes.IPC_METHOD, 'this client does not handle certs.choose');
          return choose(params);
        }
        const issued = keys.get(params['sha256'] as string)!;
        signed.push(params['sha256'] as string);
        const key = createPrivateKey(issued.keyPem);
        return {
          signature: cryptoSign(
            params['algorithm'] as string,
            Buffer.from(params['data'] as string, 'base64'),
            key,
          ).toString('base64'),
        };
      },
    } as unknown as CallContext;
    return { ctx, signed };
  };
  let ca: Issued;
  let good: Issued;
  let later: Issued;
  let noClientAuth: Issued;
  let expired: Issued;
  let noDigitalSignature: Issued;
  let guest: Issued;
  beforeAll(async () => {
    ca = await issue({ subject: 'CN=Agent Units CA, O=Lab', ca: true, keyUsage: KU.keyCertSign | KU.cRLSign });
    const user = { keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] };
    good = await issue(
      { subject: 'CN=alice, OU=users, O=Lab', ...user, notAfter: new Date(Date.now() + 300 * DAY) },
      ca,
    );
    later = await issue(
      { subject: 'CN=alice, OU=users, O=Lab', ...user, notAfter: new Date(Date.now() + 600 * DAY) },
      ca,
    );
    noClientAuth = await issue(
      { subject: 'CN=alice-mail, OU=users, O=Lab', keyUsage: KU.digitalSignature, eku: [EKU.emailProtection] },
      ca,
    );
    expired = await issue(
      {
        subject: 'CN=alice-old, OU=users, O=Lab',
        ...user,
        notBefore: new Date(Date.now() - 30 * DAY),
        notAfter: new Date(Date.now() - DAY),
      },
      ca,
    );
    noDigitalSignature = await issue(
      { subject: 'CN=alice-enc, OU=users, O=Lab', keyUsage: KU.keyEncipherment, eku: [EKU.clientAuth] },
      ca,
    );
    guest = await issue({ subject: 'CN=bob, OU=guests, O=Lab', ...user }, ca);
  });

  it('selects with the certs rules (EKU, validity, latest notAfter) and signs through the user process', async () => {
    const offered = [info(noClientAuth), info(expired), info(good, [ca]), info(later)];
    const keys = new Map([good, later, noClientAuth, expired].map((i) => [info(i).sha256, i]));
    const { ctx, signed } = userProcess(offered, keys);
    const identity = await remoteIdentityFor(ctx, defaultClientInitialization(), nullLogger);
    expect(identity.chainDer[0]!.equals(Buffer.from(later.cert.rawData))).toBe(true);
    expect(identity.signer.keySource).toBe('remote');
    const data = Buffer.from('challenge');
    const signature = await identity.signer.sign(data, 'sha256');
    expect(cryptoVerify('sha256', data, later.certPem, signature)).toBe(true);
    expect(signed).toEqual([info(later).sha256]);
  });

  it('several accepted: certs.choose shows every verdict, the pick is used only if accepted, remember follows UserControllable', async () => {
    const offered = [info(expired), info(good, [ca]), info(later)];
    const keys = new Map([good, later].map((i) => [info(i).sha256, i]));
    const asked: Array<Record<string, unknown>> = [];
    let pick = info(good).sha256;
    const { ctx } = userProcess(offered, keys, (p) => (asked.push(p), { cancelled: false, sha256: pick }));
    const identity = await remoteIdentityFor(ctx, defaultClientInitialization(), nullLogger);
    // The user's pick, not the automatic one (`later` outlives `good`).
    expect(identity.chainDer[0]!.equals(Buffer.from(good.cert.rawData))).toBe(true);
    const [q] = asked as Array<{ candidates: Array<{ accepted: boolean; reasons: string[] }>; remember: boolean }>;
    expect(q!.remember).toBe(true);
    expect(q!.candidates.map((c) => c.accepted)).toEqual([false, true, true]);
    expect(q!.candidates[0]!.reasons.join(' ')).toMatch(/expired/);
    const fixed = init('<AutomaticCertSelection UserControllable="false">false</AutomaticCertSelection>');
    pick = info(expired).sha256;
    await expect(remoteIdentityFor(ctx, fixed, nullLogger)).rejects.toMatchObject({
      code: ErrorCodes.CERT_NOT_FOUND,
      message: expect.stringMatching(/does not accept/),
    });
    expect((asked[1] as { remember: boolean }).remember).toBe(false);
    const cancelled = userProcess(offered, keys, () => ({ cancelled: true }));
    await expect(remoteIdentityFor(cancelled.ctx, fixed, nullLogger)).rejects.toMatchObject({
      code: ErrorCodes.CERT_NOT_FOUND,
      message: 'the user cancelled the certificate choice',
    });
    // No thumbprint: the agent's own choice.
    const automatic = userProcess(offered, keys, () => ({ cancelled: false }));
    const auto = await remoteIdentityFor(automatic.ctx, fixed, nullLogger);
    expect(auto.chainDer[0]!.equals(Buffer.from(later.cert.rawData))).toBe(true);
  });

  it('KeyUsage from the profile is checked (the removed copy could not), with the certs package reasons', async () => {
    const ku = init('<CertificateMatch><KeyUsage><MatchKey>Digital_Signature</MatchKey></KeyUsage></CertificateMatch>');
    const records: Array<Record<string, unknown>> = [];
    const log = {
      ...nullLogger,
      info: (_m: string, f?: Record<string, unknown>) => void records.push(f ?? {}),
      child: () => log,
    } as unknown as Logger;
    const { ctx } = userProcess([info(noDigitalSignature)], new Map());
    await expect(remoteIdentityFor(ctx, ku, log)).rejects.toMatchObject({ code: ErrorCodes.CERT_NOT_FOUND });
    const [verdict] = records;
    expect(verdict).toMatchObject({ accepted: false });
    // The same words `tandem certs select` prints for this certificate.
    const local = selectCertificate({
      candidates: [
        {
          model: new CertificateModel(Buffer.from(noDigitalSignature.cert.rawData), {
            hasPrivateKey: true,
            keySource: 'remote',
            keyProblem: null,
          }),
          store: 'user',
        },
      ],
      profileInit: ku,
      tunnel: 'user',
      platform: 'linux',
      now: new Date(),
    });
    expect(verdict!['reasons']).toBe(local.candidates[0]!.reasons.join('; '));
    expect(String(verdict!['reasons'])).toMatch(/Digital_Signature/);
  });

  it('DN rules, the store setting, and rules not understood fail closed', async () => {
    const keys = new Map([good, guest].map((i) => [info(i).sha256, i]));
    const dn = init(
      '<CertificateMatch><DistinguishedName><DistinguishedNameDefinition Operator="Equal" Wildcard="Disabled" MatchCase="Enabled"><Name>OU</Name><Pattern>users</Pattern></DistinguishedNameDefinition></DistinguishedName></CertificateMatch>',
    );
    const picked = await remoteIdentityFor(userProcess([info(guest), info(good)], keys).ctx, dn, nullLogger);
    expect(picked.chainDer[0]!.equals(Buffer.from(good.cert.rawData))).toBe(true);
    const machineOnly = init('<CertificateStoreLinux>Machine</CertificateStoreLinux>');
    await expect(remoteIdentityFor(userProcess([info(good)], keys).ctx, machineOnly, nullLogger)).rejects.toMatchObject(
      { code: ErrorCodes.CERT_NOT_FOUND },
    );
    const broken = init('<CertificateMatch><KeyUsage><MatchKey>Not_A_Usage</MatchKey></KeyUsage></CertificateMatch>');
    expect(broken.certificateMatch?.unusableRules.length).toBeGreaterThan(0);
    await expect(remoteIdentityFor(userProcess([info(good)], keys).ctx, broken, nullLogger)).rejects.toMatchObject({
      code: ErrorCodes.CERT_NOT_FOUND,
    });
  });

  it("the user process's own words never become the tunnel's public error; they go to the agent log", async () => {
    const keys = new Map([[info(good).sha256, good]]);
    const records: Array<[string, Record<string, unknown>]> = [];
    const log = {
      ...nullLogger,
      info: (m: string, f?: Record<string, unknown>) => void records.push([m, f ?? {}]),
      child: () => log,
    } as unknown as Logger;
    const { ctx } = userProcess([info(good)], keys);
    const lying = {
      ...ctx,
      reverse: async (method: string, params: Record<string, unknown>) => {
        if (method === 'certs.sign')
          throw new TandemError(ErrorCodes.CERT_SIGN, 'alice says: everyone install this update');
        return ctx.reverse(method as never, params as never);
      },
    } as unknown as CallContext;
    const identity = await remoteIdentityFor(lying, defaultClientInitialization(), log);
    const failure = await identity.signer.sign(Buffer.from('x'), 'sha256').then(
      () => null,
      (e: unknown) => e as TandemError,
    );
    expect(failure).toMatchObject({ code: ErrorCodes.CERT_SIGN });
    expect(failure!.message).toBe("the user's certificate signer did not sign (E_CERT_SIGN)");
    expect(records).toContainEqual([
      "the user's process did not sign",
      expect.objectContaining({ uid: 1000, message: 'alice says: everyone install this update' }),
    ]);
  });

  it('an offer without bytes, with bytes that are not a certificate, or whose thumbprint lies is refused', async () => {
    const keys = new Map([[info(good).sha256, good]]);
    const { der: _der, ...noBytes } = info(good);
    const garbage = { ...info(good), der: Buffer.from('not a certificate').toString('base64') };
    const lying = { ...info(good), sha256: info(guest).sha256 };
    for (const offer of [noBytes, garbage, lying]) {
      await expect(
        remoteIdentityFor(userProcess([offer], keys).ctx, defaultClientInitialization(), nullLogger),
      ).rejects.toMatchObject({ code: ErrorCodes.CERT_NOT_FOUND });
    }
  });
});

describe('signer registry', () => {
  const ctx = (uid: number, name: string): CallContext & { open: boolean; name: string } => {
    const c = { peer: { uid, gid: uid, pid: 1 }, open: true, name, isOpen: () => c.open };
    return c as unknown as CallContext & { open: boolean; name: string };
  };
  const nameOf = (c: CallContext | null): string | null => (c as { name?: string } | null)?.name ?? null;

  it('a standby signer (signer.register) is used only while no connect caller of that uid is open', () => {
    const reg = new SignerRegistry();
    const tray = ctx(1000, 'tray');
    reg.offer(tray);
    expect(reg.signerUids()).toEqual([1000]);
    expect(nameOf(reg.signerFor(1000))).toBe('tray');
    const cli = ctx(1000, 'cli');
    expect(reg.register(cli)).toBeNull();
    expect(nameOf(reg.signerFor(1000))).toBe('cli');
    // A second offer (the tray reconnected) does not take the tunnel's signer away.
    reg.offer(ctx(1000, 'tray again'));
    expect(nameOf(reg.signerFor(1000))).toBe('cli');
    cli.open = false;
    expect(nameOf(reg.signerFor(1000))).toBe('tray again');
    expect(reg.signerUids()).toEqual([1000]);
  });

  it('forgets closed connections and lists the newest uid first', () => {
    const reg = new SignerRegistry();
    const a = ctx(1000, 'a');
    reg.offer(a);
    reg.offer(ctx(1001, 'b'));
    expect(reg.signerUids()).toEqual([1001, 1000]);
    a.open = false;
    expect(reg.hasSigner(1000)).toBe(false);
    expect(reg.signerUids()).toEqual([1001]);
  });
});

describe('connect target', () => {
  const profile = (ci: string, hosts: string) =>
    parseProfile(
      Buffer.from(
        `<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/"><ClientInitialization>${ci}</ClientInitialization><ServerList>${hosts}</ServerList></AnyConnectProfile>`,
      ),
    ).document;
  const hosts =
    '<HostEntry><HostName>Lab</HostName><HostAddress>vpn.lab.test</HostAddress><UserGroup>mca</UserGroup></HostEntry>';

  it('profile hosts by name/address/URL; the default host; manual hosts only when allowed', () => {
    const open = mergeProfiles([
      { file: 'a.xml', profile: profile('<AllowManualHostInput>true</AllowManualHostInput>', hosts) },
    ]);
    expect(resolveConnectTarget(open, {})).toBe('https://vpn.lab.test/mca');
    expect(resolveConnectTarget(open, { host: 'Lab' })).toBe('https://vpn.lab.test/mca');
    expect(resolveConnectTarget(open, { host: 'vpn.lab.test' })).toBe('https://vpn.lab.test/mca');
    expect(resolveConnectTarget(open, { host: 'other.example:8443' })).toBe('https://other.example:8443');
    expect(resolveConnectTarget(open, { url: 'https://other.example/grp' })).toBe('https://other.example/grp');
    const code = (m: ReturnType<typeof mergeProfiles>, r: { host?: string; url?: string }) => {
      try {
        resolveConnectTarget(m, r);
        return 'ok';
      } catch (e) {
        return (e as TandemError).code;
      }
    };
    expect(code(open, { url: 'https://u:p@other.example/' })).toBe(ErrorCodes.USAGE);
    // A manual URL goes through the same host checks as a manual host, and its group path may
    // not climb: what the URL parser would resolve away is refused as typed.
    for (const url of [
      'https://../../etc/shadow',
      'https://other.example/../../etc/shadow',
      'https://other.example/a/./b',
      'https://other.example/%2e%2e/x',
      'https://a_b;c/',
    ]) {
      expect(code(open, { url })).toBe(ErrorCodes.USAGE);
    }
    expect(resolveConnectTarget(open, { url: 'https://other.example:8443/grp/sub' })).toBe(
      'https://other.example:8443/grp/sub',
    );
    expect(code(open, { host: 'a b;c' })).toBe(ErrorCodes.USAGE);
    const locked = mergeProfiles([
      { file: 'a.xml', profile: profile('<AllowManualHostInput>false</AllowManualHostInput>', hosts) },
    ]);
    expect(code(locked, { host: 'other.example' })).toBe(ErrorCodes.PERMISSION);
    expect(code(mergeProfiles([]), {})).toBe(ErrorCodes.USAGE);
  });
});

describe('snapshot mapping', () => {
  const t = (over: Partial<TunnelSnapshot>): TunnelSnapshot => ({
    kind: 'user',
    state: 'idle',
    gateway: 'https://vpn.lab.test',
    since: 0,
    addresses: [],
    bytesIn: 0,
    bytesOut: 0,
    packetsIn: 0,
    packetsOut: 0,
    ...over,
  });
  it('maps every engine state to the contract and error causes to stable codes', () => {
    expect(wireState(t({ state: 'authenticating' }))).toEqual({
      state: 'connecting',
      gateway: 'https://vpn.lab.test',
      since: '1970-01-01T00:00:00.000Z',
      stage: 'auth',
    });
    expect(wireState(t({ state: 'connected', addresses: ['10.0.0.2', 'fd00::2'], bytesIn: 5, bytesOut: 6 }))).toEqual({
      state: 'connected',
      gateway: 'https://vpn.lab.test',
      since: '1970-01-01T00:00:00.000Z',
      addresses: { ipv4: '10.0.0.2', ipv6: 'fd00::2', dns: [], searchDomains: [] },
      bytesIn: 5,
      bytesOut: 6,
      dtls: false,
    });
    expect(wireState(t({ state: 'error', cause: 'no-certificate', message: 'none' }))).toMatchObject({
      state: 'error',
      cause: { code: 'E_CERT_NOT_FOUND', message: 'none' },
    });
    expect(
      wireState(
        t({
          state: 'reconnecting',
          cause: 'gateway-unreachable',
          message: 'down',
          reconnect: { attempt: 3, phase: 'backoff' },
        }),
      ),
    ).toMatchObject({ attempt: 3, cause: { code: 'E_GATEWAY_UNREACHABLE' } });
  });
  it('copies fields one by one: an extra field on the engine side never reaches the wire', () => {
    const leaky = { ...t({ state: 'connected', ownerUid: 1000 }), cookie: 'webvpn-secret-value' } as TunnelSnapshot;
    const snap: EngineSnapshot = {
      seq: 1,
      at: 0,
      desired: { tunnel: 'user', reason: '' },
      tnd: { verdict: 'unknown', reason: '' },
      userTnd: { verdict: 'unknown', reason: '' },
      alwaysOn: { blocking: false, reason: '' },
      portal: 'none',
      machineTunnelEnabled: true,
      tunnels: [leaky],
    };
    const wire = wireStatus(snap);
    expect(JSON.stringify(wire)).not.toContain('webvpn-secret-value');
    expect(wire.user.ownerUid).toBe(1000);
    expect(wire.machine).toEqual({ tunnel: 'machine', status: { state: 'idle' } });
    // The TND verdict goes out, its reason (addresses of the local network) does not.
    expect(wireStatus({ ...snap, tnd: { verdict: 'trusted', reason: 'DNS 10.0.0.53 matched' } }).network).toEqual({
      trust: 'trusted',
      blocked: false,
    });
  });
  it("network trust: the management profile's verdict, else the user profiles'", () => {
    const snap = (machine: TndVerdict, user: TndVerdict): EngineSnapshot => ({
      seq: 1,
      at: 0,
      desired: { tunnel: 'none', reason: '' },
      tnd: { verdict: machine, reason: '' },
      userTnd: { verdict: user, reason: '' },
      alwaysOn: { blocking: false, reason: '' },
      portal: 'none',
      machineTunnelEnabled: true,
      tunnels: [],
    });
    // Only user profiles with TND (no management profile): their verdict is the network's.
    expect(wireStatus(snap('unknown', 'trusted')).network?.trust).toBe('trusted');
    expect(wireStatus(snap('unknown', 'untrusted')).network?.trust).toBe('untrusted');
    expect(wireStatus(snap('untrusted', 'trusted')).network?.trust).toBe('untrusted');
    expect(wireStatus(snap('trusted', 'unknown')).network?.trust).toBe('trusted');
    expect(wireStatus(snap('unknown', 'unknown')).network?.trust).toBe('unknown');
  });
});

describe('stats in vpncli layout', () => {
  const base = (tunnels: TunnelSnapshot[], over: Partial<EngineSnapshot> = {}): EngineSnapshot => ({
    seq: 1,
    at: 65_000,
    desired: { tunnel: 'user', reason: '' },
    tnd: { verdict: 'untrusted', reason: '' },
    userTnd: { verdict: 'unknown', reason: '' },
    alwaysOn: { blocking: false, reason: '' },
    portal: 'none',
    machineTunnelEnabled: true,
    tunnels,
    ...over,
  });
  const user = (over: Partial<TunnelSnapshot>): TunnelSnapshot => ({
    kind: 'user',
    state: 'connected',
    gateway: 'https://vpn.lab.test',
    since: 5_000,
    addresses: ['10.8.0.2'],
    bytesIn: 2048,
    bytesOut: 1024,
    packetsIn: 20,
    packetsOut: 10,
    ...over,
  });
  const entry = (sections: ReturnType<typeof wireStats>, title: string, name: string): string | undefined =>
    sections.find((x) => x.title === title)?.entries.find((e) => e.name === name)?.value;

  it('a split-include tunnel: mode, frames, transport, secured routes, management state', () => {
    const details = {
      protocol: 'TLSv1.3',
      cipher: 'TLS_AES_256_GCM_SHA384',
      dtls: false,
      dtlsNote: 'waiting to retry: no DTLS handshake within 12000 ms',
      mtu: 1399,
      mode4: 'split-include' as const,
      mode6: 'none' as const,
      routes4: ['10.0.0.0/8', '192.168.10.0/24'],
      routes6: [],
    };
    const s = wireStats(base([user({ details })]));
    expect(validate(contract.methods.stats.result, { sections: s }).ok).toBe(true);
    expect(entry(s, 'Connection Information', 'Tunnel Mode (IPv4)')).toBe('Split Include');
    expect(entry(s, 'Connection Information', 'Tunnel Mode (IPv6)')).toBe('Not Available');
    expect(entry(s, 'Connection Information', 'Duration')).toBe('60 s');
    expect(entry(s, 'Connection Information', 'Management Connection State')).toBe('Disconnected (user tunnel active)');
    expect(entry(s, 'Frames', 'Packets Sent')).toBe('10');
    expect(entry(s, 'Frames', 'Packets Received')).toBe('20');
    expect(entry(s, 'Transport Information', 'Protocol')).toBe('TLSv1.3');
    expect(entry(s, 'Transport Information', 'Cipher')).toBe('TLS_AES_256_GCM_SHA384');
    expect(entry(s, 'Transport Information', 'DTLS')).toBe('waiting to retry: no DTLS handshake within 12000 ms');
    expect(s.find((x) => x.title === 'Secured Routes (IPv4)')?.entries.map((e) => e.value)).toEqual([
      '10.0.0.0/8',
      '192.168.10.0/24',
    ]);
  });

  it('tunnel-all secures the default route; too many routes are counted, not dropped silently', () => {
    const all = wireStats(
      base([
        user({
          details: {
            protocol: 'TLSv1.2',
            cipher: 'x',
            dtls: false,
            mtu: 1400,
            mode4: 'all',
            mode6: 'all',
            routes4: [],
            routes6: [],
          },
        }),
      ]),
    );
    expect(all.find((x) => x.title === 'Secured Routes (IPv6)')?.entries.map((e) => e.value)).toEqual(['::/0']);
    const many = Array.from({ length: 300 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const big = wireStats(
      base([
        user({
          details: {
            protocol: 'TLSv1.3',
            cipher: 'x',
            dtls: false,
            mtu: 1400,
            mode4: 'split-include',
            mode6: 'none',
            routes4: many,
            routes6: [],
          },
        }),
      ]),
    );
    expect(validate(contract.methods.stats.result, { sections: big }).ok).toBe(true);
    expect(big.find((x) => x.title === 'Secured Routes (IPv4)')?.entries.at(-1)).toEqual({
      name: 'More',
      value: '173 more routes',
    });
  });

  it('no user tunnel: Not Available, and the management tunnel as it is', () => {
    const machine: TunnelSnapshot = { ...user({}), kind: 'machine' };
    const s = wireStats(base([machine]));
    expect(entry(s, 'Connection Information', 'Connection State')).toBe('Disconnected');
    expect(entry(s, 'Connection Information', 'Management Connection State')).toBe('Connected');
    expect(entry(s, 'Transport Information', 'Cipher')).toBe('Not Available');
    expect(
      entry(
        wireStats(base([], { machineTunnelEnabled: false })),
        'Connection Information',
        'Management Connection State',
      ),
    ).toBe('Disconnected (disabled)');
  });
});

describe('driver without a data plane', () => {
  it('rejects every bring-up with E_GATEWAY_UNREACHABLE "no data plane available"', async () => {
    const driver = new AgentTunnelDriver({ runner: null, log: nullLogger } as unknown as ConstructorParameters<
      typeof AgentTunnelDriver
    >[0]);
    const signal = new AbortController().signal;
    await expect(driver.authenticate('machine', { url: 'https://x', reason: 'initial', signal })).rejects.toMatchObject(
      { code: 'E_GATEWAY_UNREACHABLE', message: NO_DATA_PLANE },
    );
    await expect(driver.open('user', { gateway: 'x', cookie: 'c' }, { signal })).rejects.toMatchObject({
      code: 'E_GATEWAY_UNREACHABLE',
    });
  });
});

describe('log ring', () => {
  it('a flood from the IPC layer cannot evict the administrator records', async () => {
    const { createAgentLogging } = await import('../src/logging.js');
    const { PassThrough } = await import('node:stream');
    const logging = createAgentLogging({ level: 'info', format: 'json', stream: new PassThrough(), ringCapacity: 500 });
    logging.log.child('admin').info('machine tunnel disabled by uid 0');
    const ipc = logging.log.child('ipc');
    for (let i = 0; i < 5000; i++)
      ipc.child(`uid${60000 + (i % 50)}`).warn('too many malformed frames; closing connection');
    logging.log.child('engine').info('user tunnel requested');
    const records = logging.ring.records();
    expect(records.map((r) => r.msg)).toContain('machine tunnel disabled by uid 0');
    expect(records.map((r) => r.msg)).toContain('user tunnel requested');
    // The noise is kept too, but bounded by its own ring.
    const noise = records.filter((r) => r.scope.startsWith('tandemd:ipc'));
    expect(noise.length).toBeGreaterThan(0);
    expect(noise.length).toBeLessThanOrEqual(100);
    expect(records.map((r) => r.time)).toEqual([...records.map((r) => r.time)].sort());
  });
});
