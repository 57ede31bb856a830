import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, repoRoot, tandem } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tandem-cli-'));
const broken = join(dir, 'broken.xml');
const warned = join(dir, 'warned.xml');
beforeAll(() => {
  ensureBuilt();
  writeFileSync(
    broken,
    '<AnyConnectProfile>\n  <ServerList>\n    <HostEntry>\n  </ServerList>\n</AnyConnectProfile>\n',
  );
  writeFileSync(
    warned,
    '<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/">\n  <ClientInitialization>\n    <AuthenticationTimeout>i</AuthenticationTimeout>\n  </ClientInitialization>\n  <ServerList><HostEntry><HostName>w.example.com</HostName></HostEntry></ServerList>\n</AnyConnectProfile>\n',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tandem CLI', () => {
  it('--version prints the package version', () => {
    const version = (JSON.parse(readFileSync(join(repoRoot, 'apps/cli/package.json'), 'utf8')) as { version: string })
      .version;
    expect(tandem(['--version'])).toMatchObject({ code: 0, stdout: `tandem ${version}\n` });
  });

  it('help / --help list the commands; help <command> shows its usage', () => {
    for (const args of [['help'], ['--help']]) {
      const r = tandem(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('profile check');
    }
    expect(tandem(['help', 'profile', 'check']).stdout).toContain('Usage: tandem profile check FILE...');
    expect(tandem(['profile', 'check', '--help'])).toMatchObject({ code: 0 });
  });

  it('usage errors exit 2 with a message on stderr', () => {
    for (const args of [
      [],
      ['frobnicate'],
      ['profile'],
      ['profile', 'check'],
      ['profile', 'check', '--nope', 'x.xml'],
      ['help', 'nope'],
    ]) {
      const r = tandem(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.length, args.join(' ')).toBeGreaterThan(0);
      expect(r.stdout).toBe('');
    }
  });

  it('exit 0 for valid files (warnings allowed): human report has servers, certificates and warnings with line numbers', () => {
    const r = tandem(['profile', 'check', 'profiles/user-mca.xml', warned]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('profiles/user-mca.xml: valid user tunnel profile');
    expect(r.stdout).toContain('Example VPN (MCA) -> https://vpn.example.com/mca-users  [SSL] (line 40)');
    expect(r.stdout).toContain('store override (machine store for non-admin users): true');
    expect(r.stdout).toContain('extended key usage (all of): 1.3.6.1.5.5.7.3.2 [ClientAuth]');
    expect(r.stdout).toContain('issuer CN = "Example Corp Issuing CA"');
    expect(r.stdout).toContain(
      `${warned}:3:5: bad-number: <AuthenticationTimeout> value "i" is not an integer; using default 30`,
    );
  });

  it('machine tunnel settings are shown for the shipped management profile', () => {
    const r = tandem(['profile', 'check', 'profiles/mgmttun/VpnMgmtTunProfile.xml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid management tunnel profile');
    expect(r.stdout).toContain('Machine tunnel (forced settings):');
    expect(r.stdout).toContain('TND configured: yes');
  });

  it('exit 1 when any file is invalid; the error names file:line:column on stderr', () => {
    const r = tandem(['profile', 'check', 'profiles/minimal.xml', broken]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('profiles/minimal.xml: valid');
    expect(r.stderr).toContain(
      `${broken}:4:3: end tag </ServerList> does not match <HostEntry> opened at line 3, column 5`,
    );
    expect(tandem(['profile', 'check', join(dir, 'missing.xml')]).code).toBe(1);
  });

  it('--json: one object per file with file, valid, errors, warnings, profile', () => {
    const r = tandem(['profile', 'check', '--json', 'profiles/minimal.xml', warned, broken]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(out).toHaveLength(3);
    for (const o of out)
      expect(Object.keys(o).sort()).toEqual(['errors', 'file', 'kind', 'profile', 'valid', 'warnings']);
    expect(out[0]).toMatchObject({ file: 'profiles/minimal.xml', valid: true, kind: 'vpn', errors: [], warnings: [] });
    expect((out[0]!['profile'] as { serverList: Array<{ url: string }> }).serverList[0]!.url).toBe(
      'https://vpn.example.net',
    );
    expect(out[1]).toMatchObject({ valid: true, warnings: [{ line: 3, column: 5, kind: 'bad-number' }] });
    expect(out[2]).toMatchObject({
      file: broken,
      valid: false,
      kind: null,
      profile: null,
      warnings: [],
      errors: [{ line: 4, column: 3, code: 'E_XML_INVALID' }],
    });
    const missing = JSON.parse(tandem(['profile', 'check', '--json', join(dir, 'missing.xml')]).stdout) as Array<{
      errors: unknown[];
    }>;
    expect(missing[0]!.errors).toEqual([
      { line: null, column: null, code: 'E_PROFILE_IO', message: `${join(dir, 'missing.xml')}: no such file` },
    ]);
  });
});
