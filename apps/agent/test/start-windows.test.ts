/**
 * The agent's start path where the private-path policy is Windows's (owner SID and DACL): the
 * state and log directories become private directories of the policy, no socket-file checks for
 * the pipe, and every "root-owned, not writable by others" check asks the policy. Driven by a
 * recording policy installed the way tandemd installs the real one.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, nullLogger } from '@tandem/common';
import {
  privatePathPolicy,
  usePrivatePathPolicy,
  type PrivatePathPolicy,
  type ProtectedCheck,
} from '@tandem/common/safe-fs';
import { loadProfileFile } from '@tandem/profile';
import { readPassphraseFile } from '../src/adapters/machine-credentials.js';
import { readGatewayCa } from '../src/gateway-ca.js';
import { checkLogDir, ensureLogDir } from '../src/log-layout.js';
import { ProfileStore } from '../src/profiles.js';
import { guardSocketPath } from '../src/socket-guard.js';
import { prepareStateDir } from '../src/state-dir.js';

const dir = mkdtempSync(join(tmpdir(), 'tandem-winstart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => usePrivatePathPolicy(null));

const PROFILE = `<?xml version="1.0" encoding="UTF-8"?>
<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/"><ServerList><HostEntry>
<HostName>Corp</HostName><HostAddress>vpn.example.com</HostAddress></HostEntry></ServerList></AnyConnectProfile>`;

/** A policy of kind windows-acl that records what it is asked and refuses the paths in `refuse`. */
function recordingPolicy(refuse = new Map<string, string>()) {
  const calls: string[] = [];
  const posix = privatePathPolicy('linux');
  const policy: PrivatePathPolicy = {
    ...posix,
    kind: 'windows-acl',
    ensurePrivateDir: (d) => {
      calls.push(`ensurePrivateDir ${d}`);
      mkdirSync(d, { recursive: true });
    },
    checkPrivateDir: (d) => void calls.push(`checkPrivateDir ${d}`),
    protectedRefusal: (path: string, check: ProtectedCheck = {}) => {
      const how = check.secret ? 'secret' : check.directory ? 'directory' : check.fd !== undefined ? 'fd' : 'path';
      calls.push(`protectedRefusal ${path} (${how})`);
      return refuse.get(path) ?? null;
    },
  };
  usePrivatePathPolicy(policy);
  return calls;
}

describe('agent start on the Windows private-path policy', () => {
  it('state and journal: private directories of the policy; no socket-file checks for the pipe', async () => {
    const calls = recordingPolicy();
    const state = join(dir, 'state');
    expect(await prepareStateDir(state)).toEqual({ stateDir: state, journalDir: join(state, 'netjournal') });
    expect(calls).toEqual([`ensurePrivateDir ${state}`, `ensurePrivateDir ${join(state, 'netjournal')}`]);
    // A pipe has no directory; a Unix path that does not exist would throw on Linux.
    await expect(guardSocketPath('\\\\.\\pipe\\tandem', 'win32')).resolves.toBeUndefined();
    await expect(guardSocketPath(join(dir, 'absent', 'tandemd.sock'), 'linux')).rejects.toThrow();
  });

  it('log directory: created and checked by the policy', () => {
    const calls = recordingPolicy();
    const logs = join(dir, 'logs');
    ensureLogDir(logs);
    checkLogDir(logs);
    expect(calls).toEqual([`ensurePrivateDir ${logs}`, `checkPrivateDir ${logs}`]);
  });

  it('gateway CA and passphrase: protected (the passphrase secret), refusals typed with the reason', async () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    const pass = join(dir, 'pass');
    writeFileSync(pass, 'secret\n');
    const calls = recordingPolicy(new Map([[pass, 'grants S-1-5-32-545 access (0x1200a9)']]));
    expect(await readGatewayCa(ca)).toMatch(/BEGIN CERTIFICATE/);
    await expect(readPassphraseFile(pass)).rejects.toMatchObject({
      code: ErrorCodes.USAGE,
      message: `${pass}: passphrase file refused: grants S-1-5-32-545 access (0x1200a9)`,
    });
    expect(calls).toEqual([`protectedRefusal ${ca} (path)`, `protectedRefusal ${pass} (secret)`]);
  });

  it('profiles: the directory may not be replaced, the file is checked on its descriptor, then every parent', async () => {
    const profiles = join(dir, 'profiles');
    mkdirSync(profiles);
    const file = join(profiles, 'corp.xml');
    writeFileSync(file, PROFILE);
    const calls = recordingPolicy();
    await loadProfileFile(file, { requireRootOwned: true });
    const parents = [];
    for (let d = profiles; ; d = join(d, '..')) {
      parents.push(`protectedRefusal ${d} (directory)`);
      if (d === '/') break;
    }
    expect(calls).toEqual([`protectedRefusal ${file} (fd)`, ...parents]);

    const refused = recordingPolicy(
      new Map([[profiles, 'grants S-1-5-32-545 the right to replace its entries (0x40)']]),
    );
    const store = new ProfileStore([profiles], nullLogger);
    const set = await store.load();
    expect(set.merged.hosts).toEqual([]);
    expect(refused).toEqual([`protectedRefusal ${profiles} (directory)`]);

    // No O_NOFOLLOW there: a link is caught by comparing the path with the descriptor.
    recordingPolicy();
    symlinkSync(file, join(profiles, 'link.xml'));
    await expect(loadProfileFile(join(profiles, 'link.xml'), { requireRootOwned: true })).rejects.toMatchObject({
      code: ErrorCodes.PROFILE_UNSAFE_FILE,
      message: expect.stringMatching(/symbolic link/),
    });

    recordingPolicy(new Map([[file, 'owned by S-1-5-21-1-2-3-1001, not by SYSTEM, Administrators or S-1-5-18']]));
    await expect(loadProfileFile(file, { requireRootOwned: true })).rejects.toMatchObject({
      code: ErrorCodes.PROFILE_UNSAFE_FILE,
      message: expect.stringMatching(/owned by S-1-5-21-1-2-3-1001/),
    });
  });
});
