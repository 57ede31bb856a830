/**
 * The agent's machine store reads Secure Client's machine directory beside its own, in Secure
 * Client's layout (NAME.pem with private/NAME.key), under the same root-ownership rule, and
 * notices a change in either directory; `--cisco-machine-store` / `--no-cisco-machine-store`.
 */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, nullLogger, type TandemError } from '@tandem/common';
import { parseProfile } from '@tandem/profile';
import { EKU, issue, KU, missing, titled, type Issued } from '@tandem/testkit';
import { MachineStore } from '../src/adapters/machine-credentials.js';
import { parseOptions } from '../src/options.js';

const machineInit = parseProfile(Buffer.from('<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/"/>'), {
  managementTunnel: true,
}).document.clientInitialization;

function ciscoPut(dir: string, name: string, who: Issued): void {
  mkdirSync(join(dir, 'private'), { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, `${name}.pem`), who.certPem, { mode: 0o644 });
  writeFileSync(join(dir, 'private', `${name}.key`), who.keyPem, { mode: 0o600 });
}

describe('options', () => {
  it("Secure Client's machine directory is read by default, can be moved or turned off", () => {
    expect(parseOptions([], {}).ciscoMachineStoreDir).toBe('/opt/.cisco/certificates/client');
    expect(parseOptions(['--cisco-machine-store', '/srv/cisco'], {}).ciscoMachineStoreDir).toBe('/srv/cisco');
    expect(parseOptions(['--cisco-machine-store', '/x', '--no-cisco-machine-store'], {}).ciscoMachineStoreDir).toBe(
      null,
    );
    expect(() => parseOptions(['--cisco-machine-store', 'rel'], {})).toThrow(
      expect.objectContaining({ code: ErrorCodes.USAGE }) as unknown as TandemError,
    );
  });
});

const skip = missing('root');
describe.skipIf(skip !== null)(titled("machine store with Secure Client's directory", skip), () => {
  let ca: Issued;
  let host1: Issued;
  let host2: Issued;
  beforeAll(async () => {
    ca = await issue({ subject: 'CN=Machine CA', ca: true, keyUsage: KU.keyCertSign });
    const spec = { keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] };
    host1 = await issue({ subject: 'CN=host1', ...spec }, ca);
    host2 = await issue({ subject: 'CN=host2', ...spec, notAfter: new Date(Date.now() + 400 * 86_400_000) }, ca);
  });

  it('selects a certificate from the Cisco directory and sees a new one without a restart', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tandem-machine-store-'));
    const own = join(root, 'tandem');
    const cisco = join(root, 'cisco');
    mkdirSync(own, { mode: 0o755 });
    mkdirSync(cisco, { mode: 0o755 });
    ciscoPut(cisco, 'host1', host1);
    const store = new MachineStore(own, null, nullLogger, undefined, () => [], cisco);
    const first = await store.select(machineInit, 'machine');
    expect(first.problems).toEqual([]);
    expect(first.result.selected?.model.subjectDn).toBe('CN=host1');
    expect(first.result.selected?.source).toBe(`dir:${cisco}`);
    // A second, longer-lived certificate arrives in Cisco's directory: the next selection reads it.
    ciscoPut(cisco, 'host2', host2);
    expect((await store.select(machineInit, 'machine')).result.selected?.model.subjectDn).toBe('CN=host2');
    // Secure Client's directory obeys the machine store's rule: writable by others, refused as a whole.
    chmodSync(cisco, 0o777);
    const refused = await store.select(machineInit, 'machine');
    expect(refused.result.selected).toBeNull();
    expect(refused.problems.map((p) => p.source)).toEqual([`dir:${cisco}`]);
    // Without it (the default of this constructor), only Tandem's directory counts.
    const alone = new MachineStore(own, null, nullLogger);
    expect((await alone.list()).candidates).toEqual([]);
  });
});

describe('machine store on Windows and macOS', () => {
  it('reads the OS machine store, never the directories; here its binding is refused, as a diagnostic', async () => {
    for (const [platform, source, why] of [
      ['win32', 'cng:LocalMachine\\MY', /crypt32 is Windows-only/],
      ['darwin', 'keychain:/Library/Keychains/System.keychain', /Security\.framework is macOS-only/],
    ] as const) {
      const store = new MachineStore('/nonexistent', null, nullLogger, undefined, () => [], null, platform);
      const { result, problems } = await store.select(machineInit, 'machine');
      expect(result.candidates).toEqual([]);
      expect(problems).toEqual([
        { store: 'machine', source, origin: source, message: expect.stringMatching(why) as unknown as string },
      ]);
    }
  });
});
