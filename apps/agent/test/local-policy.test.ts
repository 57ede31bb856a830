/**
 * The local policy in the agent (docs/profile.md#local-policy): loading with the profiles' safe
 * loader (absent → defaults, refused → defaults or the last good version), and what the driver
 * and the machine store enforce from it — strict trust no profile can turn off, the PEM file
 * store left out of both selections, the user's choice not remembered — plus the effective
 * configuration of the diagnostic bundle.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateModel } from '@tandem/certs';
import { ErrorCodes, nullLogger, TandemError, type Logger } from '@tandem/common';
import type { CertificateInfo } from '@tandem/contract';
import type { CallContext } from '@tandem/ipc/server';
import { defaultLocalPolicy, mergeProfiles, parseLocalPolicy, parseProfile } from '@tandem/profile';
import { EKU, issue, isRoot, KU, missing, titled, type Issued } from '@tandem/testkit';
import { AgentTunnelDriver, type RunnerAuthRequest } from '../src/adapters/driver.js';
import { MachineStore } from '../src/adapters/machine-credentials.js';
import { effectiveConfig } from '../src/diag/effective-config.js';
import { excludedStoreKinds, LocalPolicyStore } from '../src/local-policy.js';
import { parseOptions } from '../src/options.js';
import type { ProfileSet } from '../src/profiles.js';

/** A logger that keeps every record's message and fields. */
function recorder(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = {
    debug: (m: string, f?: object) => lines.push(`debug ${m} ${JSON.stringify(f ?? {})}`),
    info: (m: string, f?: object) => lines.push(`info ${m} ${JSON.stringify(f ?? {})}`),
    warn: (m: string, f?: object) => lines.push(`warn ${m} ${JSON.stringify(f ?? {})}`),
    error: (m: string, f?: object) => lines.push(`error ${m} ${JSON.stringify(f ?? {})}`),
    child: () => log,
  } as unknown as Logger;
  return { log, lines };
}

const POLICY = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<AnyConnectLocalPolicy xmlns="http://schemas.xmlsoap.org/encoding/">${body}</AnyConnectLocalPolicy>\n`;
const policyOf = (body: string) => parseLocalPolicy(Buffer.from(POLICY(body))).document;

describe.skipIf(!isRoot)(titled('local policy file: the safe loader', missing('root')), () => {
  let dir: string;
  beforeAll(() => {
    // Under /run: the loader refuses a file below a world-writable directory such as /tmp.
    dir = mkdtempSync('/run/tandem-local-policy-');
    chmodSync(dir, 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('absent: every default; loaded: in force with unsupported settings logged once; refused: last good kept, defaults before', async () => {
    const file = join(dir, 'AnyConnectLocalPolicy.xml');
    const { log, lines } = recorder();
    const store = new LocalPolicyStore(file, log);
    expect((await store.load()).status).toBe('absent');
    expect(store.policy).toEqual(defaultLocalPolicy());

    writeFileSync(file, POLICY('<StrictCertificateTrust>true</StrictCertificateTrust><FipsMode>true</FipsMode>'), {
      mode: 0o644,
    });
    chmodSync(file, 0o644);
    expect((await store.load()).status).toBe('loaded');
    expect(store.policy.strictCertificateTrust).toBe(true);
    expect(lines.filter((l) => l.startsWith('warn local policy setting not supported'))).toHaveLength(1);
    expect(lines.join('\n')).toMatch(/"setting":"FipsMode"/);

    // Group-writable: refused, the version read before stays.
    chmodSync(file, 0o664);
    const kept = await store.load();
    expect(kept).toMatchObject({ status: 'kept-last-good', reason: expect.stringMatching(/writable by group/) });
    expect(store.policy.strictCertificateTrust).toBe(true);
    expect(lines.join('\n')).toMatch(/error local policy refused; keeping its last good version/);

    // A fresh agent that meets the bad file first has only the defaults.
    const fresh = new LocalPolicyStore(file, nullLogger);
    expect((await fresh.load()).status).toBe('refused');
    expect(fresh.policy.strictCertificateTrust).toBe(false);

    // A symbolic link and a VPN profile in its place are refused too.
    rmSync(file);
    writeFileSync(join(dir, 'real.xml'), POLICY('<StrictCertificateTrust>true</StrictCertificateTrust>'), {
      mode: 0o644,
    });
    symlinkSync(join(dir, 'real.xml'), file);
    expect((await new LocalPolicyStore(file, nullLogger).load()).reason).toMatch(/symbolic link/);
    rmSync(file);
    writeFileSync(file, '<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/"/>', { mode: 0o644 });
    expect((await new LocalPolicyStore(file, nullLogger).load()).reason).toMatch(/not an AnyConnectLocalPolicy/);
  });

  it('the machine store selection leaves the PEM file store out when the policy says so', async () => {
    const machineDir = join(dir, 'machine');
    mkdirSync(machineDir, { mode: 0o700 });
    const ca = await issue({ subject: 'CN=Policy CA', ca: true, keyUsage: KU.keyCertSign });
    const m = await issue({ subject: 'CN=host1', keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] }, ca);
    writeFileSync(join(machineDir, 'machine.crt'), m.certPem, { mode: 0o644 });
    writeFileSync(join(machineDir, 'machine.key'), m.keyPem, { mode: 0o600 });
    let excluded = excludedStoreKinds(policyOf('<ExcludePemFileCertStore>true</ExcludePemFileCertStore>'));
    const store = new MachineStore(machineDir, null, nullLogger, undefined, () => excluded);
    const init = parseProfile(Buffer.from('<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/"/>'), {
      managementTunnel: true,
    }).document.clientInitialization;
    const { result } = await store.select(init, 'machine');
    expect(result.selected).toBeNull();
    expect(result.candidates[0]!.reasons).toContain(
      'in the PEM file store, which the local policy excludes (ExcludePemFileCertStore)',
    );
    await expect(store.credentials(init, 'machine')).rejects.toMatchObject({ code: ErrorCodes.CERT_NOT_FOUND });
    // Read at every selection: a reload without the exclusion makes it usable again.
    excluded = excludedStoreKinds(defaultLocalPolicy());
    expect((await store.select(init, 'machine')).result.selected?.model.subjectDn).toBe('CN=host1');
  });

  it('ExcludeFirefoxNSSCertStore excludes the NSS database kind, ExcludePemFileCertStore the directories', () => {
    expect(excludedStoreKinds(defaultLocalPolicy())).toEqual([]);
    expect(excludedStoreKinds(policyOf('<ExcludeFirefoxNSSCertStore>true</ExcludeFirefoxNSSCertStore>'))).toEqual([
      'nss',
    ]);
    expect(
      excludedStoreKinds(
        policyOf(
          '<ExcludePemFileCertStore>true</ExcludePemFileCertStore><ExcludeFirefoxNSSCertStore>true</ExcludeFirefoxNSSCertStore>',
        ),
      ),
    ).toEqual(['pem-file', 'nss']);
    expect(
      excludedStoreKinds(
        policyOf(
          '<ExcludeWinNativeCertStore>true</ExcludeWinNativeCertStore><ExcludeMacNativeCertStore>true</ExcludeMacNativeCertStore>',
        ),
      ),
    ).toEqual(['windows', 'keychain']);
  });
});

describe('the driver applies the local policy to the user tunnel', () => {
  let ca: Issued;
  let alice: Issued;
  beforeAll(async () => {
    ca = await issue({ subject: 'CN=Driver Policy CA', ca: true, keyUsage: KU.keyCertSign });
    alice = await issue({ subject: 'CN=alice', keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] }, ca);
  });

  /** A driver over a profile for vpn.lab.test, with a user process offering alice from the store `store`. */
  function setup(local: string, profileInit = '', store = 'file') {
    const profile = parseProfile(
      Buffer.from(
        `<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/"><ClientInitialization>${profileInit}</ClientInitialization>` +
          '<ServerList><HostEntry><HostName>Lab</HostName><HostAddress>vpn.lab.test</HostAddress></HostEntry></ServerList></AnyConnectProfile>',
      ),
    ).document;
    const model = new CertificateModel(Buffer.from(alice.cert.rawData));
    const offered: CertificateInfo = {
      sha256: model.sha256,
      subject: model.subjectDn,
      issuer: model.issuerDn,
      notBefore: model.notBefore.toISOString(),
      notAfter: model.notAfter.toISOString(),
      keyType: model.publicKey.type,
      store,
      der: model.der.toString('base64'),
    };
    const asked: Array<{ remember: boolean }> = [];
    const ctx = {
      peer: { uid: 1000, gid: 1000, pid: 1 },
      isOpen: () => true,
      reverse: async (method: string, params: { remember: boolean }) => {
        if (method === 'certs.list') return { certificates: [offered, { ...offered }] };
        if (method === 'certs.choose') return (asked.push(params), { cancelled: false });
        throw new TandemError(ErrorCodes.IPC_METHOD, method);
      },
    } as unknown as CallContext;
    const requests: RunnerAuthRequest[] = [];
    const driver = new AgentTunnelDriver({
      profiles: { set: { merged: mergeProfiles([{ file: '/etc/tandem/profiles/lab.xml', profile }]), machine: null } },
      machineStore: {
        credentials: () => Promise.reject(new TandemError(ErrorCodes.CERT_NOT_FOUND, 'none')),
      },
      signers: { signerFor: () => ctx },
      runner: {
        authenticate: (r: RunnerAuthRequest) => (requests.push(r), Promise.resolve({ gateway: r.url, cookie: 'c' })),
        open: () => Promise.reject(new Error('not used')),
      },
      log: nullLogger,
      localPolicy: { policy: policyOf(local) },
    } as unknown as ConstructorParameters<typeof AgentTunnelDriver>[0]);
    const auth = async (): Promise<RunnerAuthRequest> => {
      await driver.authenticate('user', {
        url: 'https://vpn.lab.test',
        reason: 'initial',
        signal: new AbortController().signal,
        uid: 1000,
      });
      return requests.at(-1)!;
    };
    return { auth, asked };
  }

  it('StrictCertificateTrust: strict whatever the profile says; without it the profile decides', async () => {
    const strictLocal = await setup(
      '<StrictCertificateTrust>true</StrictCertificateTrust>',
      '<StrictCertificateTrust>false</StrictCertificateTrust>',
    ).auth();
    expect(strictLocal.strictServerTrust).toBe(true);
    expect(strictLocal.profileFile).toBe('/etc/tandem/profiles/lab.xml');
    expect((await setup('').auth()).strictServerTrust).toBe(false);
    expect((await setup('', '<StrictCertificateTrust>true</StrictCertificateTrust>').auth()).strictServerTrust).toBe(
      true,
    );
  });

  it('ExcludePemFileCertStore: a certificate the user process keeps in files is refused, one on a token is used', async () => {
    const exclude = '<ExcludePemFileCertStore>true</ExcludePemFileCertStore>';
    const fromFiles = await setup(exclude).auth();
    const source = fromFiles.user as () => Promise<unknown>;
    await expect(source()).rejects.toMatchObject({ code: ErrorCodes.CERT_NOT_FOUND });
    const onToken = await setup(exclude, '', 'pkcs11').auth();
    await expect((onToken.user as () => Promise<unknown>)()).resolves.toMatchObject({
      chainDer: [Buffer.from(alice.cert.rawData)],
    });
  });

  it('RestrictPreferenceCaching with thumbprints: the client is told not to remember the choice', async () => {
    for (const [value, remember] of [
      ['All', false],
      ['Thumbprints', false],
      ['Credentials', true],
    ] as const) {
      const s = setup(`<RestrictPreferenceCaching>${value}</RestrictPreferenceCaching>`);
      await ((await s.auth()).user as () => Promise<unknown>)();
      expect(s.asked.map((a) => a.remember)).toEqual([remember]);
    }
  });
});

describe('effective configuration', () => {
  it('every local policy setting with its value, effect and where it came from', () => {
    const options = parseOptions([], {});
    const profiles = { merged: mergeProfiles([]), machine: null, files: [] } as ProfileSet;
    const policy = policyOf('<ExcludePemFileCertStore>true</ExcludePemFileCertStore>');
    const cfg = effectiveConfig(options, { socketFromEnvironment: false }, { enabled: true }, profiles, {
      policy,
      file: options.localPolicyFile,
      status: 'loaded',
    });
    expect(cfg['agent.localPolicyFile']).toEqual({ value: '/etc/tandem/AnyConnectLocalPolicy.xml', source: 'default' });
    expect(cfg['localPolicy.ExcludePemFileCertStore']).toEqual({
      value: { value: 'true', effect: 'enforced', note: expect.stringMatching(/PEM/) },
      source: 'local policy /etc/tandem/AnyConnectLocalPolicy.xml',
    });
    expect(cfg['localPolicy.StrictCertificateTrust']!.source).toBe(
      'default (not set in /etc/tandem/AnyConnectLocalPolicy.xml)',
    );
    const absent = effectiveConfig(options, { socketFromEnvironment: false }, { enabled: true }, profiles, {
      policy: defaultLocalPolicy(),
      file: options.localPolicyFile,
      status: 'absent',
    });
    expect(absent['localPolicy.FipsMode']).toMatchObject({
      value: { value: 'false', effect: 'not supported' },
      source: 'default (no /etc/tandem/AnyConnectLocalPolicy.xml)',
    });
  });
});
