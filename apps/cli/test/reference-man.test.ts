/**
 * The generated man pages render: `man tandem` (man-db, from a manual directory as installed) or
 * groff, with warnings on, prints no warning and shows the sections and commands. Plus the roff
 * escaping that keeps usage texts from turning into requests.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { titled, which } from '@tandem/testkit';
import { OPTIONS as AGENT_OPTIONS, USAGE as AGENT_USAGE } from '../../agent/src/options.js';
import { OPTIONS as GATEWAY_OPTIONS, USAGE as GATEWAY_USAGE } from '../../lab-gateway/src/options.js';
import { COMMANDS } from '../src/commands.js';
import {
  describeProgram,
  describeTandem,
  labGatewayManPage,
  roffText,
  tandemdManPage,
  tandemManPage,
} from '../src/local/reference/index.js';

const stamp = { date: '2025-01-01', version: '0.0.0-test' };
const paths = {
  profileDir: '/etc/tandem/profiles',
  ciscoProfileDir: '/opt/cisco/secureclient/vpn/profile',
  stateDir: '/run/tandem',
  settingsDir: '/var/lib/tandem',
  logDir: '/var/log/tandem',
};
const pages = {
  'man1/tandem.1': tandemManPage(await describeTandem(COMMANDS), stamp, paths),
  'man8/tandemd.8': tandemdManPage(describeProgram('tandemd', AGENT_USAGE, AGENT_OPTIONS), stamp, paths),
  'man1/tandem-lab-gateway.1': labGatewayManPage(
    describeProgram('tandem-lab-gateway', GATEWAY_USAGE, GATEWAY_OPTIONS),
    stamp,
  ),
};
const dir = mkdtempSync(join(tmpdir(), 'tandem-man-'));
for (const [name, text] of Object.entries(pages)) {
  mkdirSync(join(dir, name, '..'), { recursive: true });
  writeFileSync(join(dir, name), text);
}
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('roffText', () => {
  it('keeps text from becoming requests or escapes, and option hyphens typeable', () => {
    expect(roffText(".TH X\n'br")).toBe("\\&.TH X\n\\&'br");
    expect(roffText('a \\fB b')).toBe('a \\efB b');
    expect(roffText('use --user-store DIR, not -h; root-owned')).toBe(
      'use \\-\\-user\\-store DIR, not \\-h; root-owned',
    );
    expect(roffText('manifest — every file')).toBe('manifest \\[u2014] every file');
  });
});

const man = which('man');
const groff = which('groff');
const reason = man || groff ? null : 'needs man (man-db) or groff (groff-base); .ci/run installs them';

/** The rendered page's text and what the formatter said on stderr. */
function render(section: string, name: string): { text: string; warnings: string } {
  const run = man
    ? spawnSync(man, ['--warnings', '-M', dir, '-P', '/bin/cat', section, name], {
        env: { ...process.env, MANWIDTH: '80', MANPAGER: '/bin/cat', LANG: 'C.UTF-8' },
        encoding: 'utf8',
        timeout: 20_000,
        maxBuffer: 8 << 20,
      })
    : spawnSync(groff!, ['-ww', '-man', '-Tutf8', '-P-cbou', join(dir, `man${section}`, `${name}.${section}`)], {
        encoding: 'utf8',
        timeout: 20_000,
        maxBuffer: 8 << 20,
      });
  expect(run.status, run.stderr).toBe(0);
  return { text: run.stdout, warnings: run.stderr };
}

describe.skipIf(reason !== null)(titled(`man pages render (${man ? 'man' : 'groff'})`, reason), () => {
  it('man tandem: no warnings; NAME, SYNOPSIS, COMMANDS with every command, OPTIONS, EXIT STATUS, FILES', () => {
    const { text, warnings } = render('1', 'tandem');
    expect(warnings).toBe('');
    for (const heading of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'OPTIONS', 'EXIT STATUS', 'ENVIRONMENT'])
      expect(text).toMatch(new RegExp(`^${heading}$`, 'm'));
    expect(text).toMatch(/^FILES$/m);
    expect(text).toMatch(/^SEE ALSO$/m);
    expect(text).toContain('tandem - AnyConnect-compatible');
    for (const entry of COMMANDS) expect(text).toMatch(new RegExp(`^ {3}${entry.name}\\b`, 'm'));
    expect(text).toContain('diag bundle');
    // Option names come out as typed (ASCII hyphen-minus), not as typographic hyphens.
    expect(text).toContain('--since DURATION');
    expect(text).toContain('TANDEM_SOCKET');
  });

  it('man 8 tandemd and man tandem-lab-gateway: no warnings, every option', () => {
    const agent = render('8', 'tandemd');
    expect(agent.warnings).toBe('');
    expect(agent.text).toMatch(/^TANDEMD\(8\)/);
    for (const name of Object.keys(AGENT_OPTIONS)) expect(agent.text).toContain(`--${name}`);
    const gateway = render('1', 'tandem-lab-gateway');
    expect(gateway.warnings).toBe('');
    for (const name of Object.keys(GATEWAY_OPTIONS)) expect(gateway.text).toContain(`--${name}`);
  });
});
