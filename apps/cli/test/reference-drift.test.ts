/**
 * Issue 15's "cannot drift": every option a parser accepts has a line in its usage text (what
 * `--help` prints) and an entry in the man page and in each completion script, and the usage
 * text describes no option the parser refuses — for every `tandem` command, tandemd and
 * tandem-lab-gateway. A new option added to a parseArgs table without a usage line fails here.
 */
import { describe, expect, it } from 'vitest';
import { OPTIONS as AGENT_OPTIONS, USAGE as AGENT_USAGE } from '../../agent/src/options.js';
import { OPTIONS as GATEWAY_OPTIONS, USAGE as GATEWAY_USAGE } from '../../lab-gateway/src/options.js';
import type { OptionSpec } from '../src/args.js';
import { COMMANDS } from '../src/commands.js';
import { GLOBAL_OPTIONS, GLOBAL_USAGE, HELP_OPTION, HELP_USAGE } from '../src/global-options.js';
import {
  bashCompletion,
  byName,
  describeProgram,
  describeTandem,
  fishCompletion,
  labGatewayManPage,
  optionDrift,
  tandemdManPage,
  tandemManPage,
  zshCompletion,
} from '../src/local/reference/index.js';

const stamp = { date: '2025-01-01', version: '0.0.0-test' };
const paths = {
  profileDir: '/etc/tandem/profiles',
  ciscoProfileDir: '/opt/cisco',
  stateDir: '/run/tandem',
  settingsDir: '/var/lib/tandem',
  logDir: '/var/log/tandem',
};
const commands = await Promise.all(COMMANDS.map((e) => e.load()));
const tandem = await describeTandem(COMMANDS);

/** The text of a shell `case` arm for `name` (up to the next arm at the same indentation). */
function arm(script: string, fn: string, name: string): string {
  const body = script.slice(script.indexOf(`${fn}() {`));
  const start = body.search(new RegExp(`^ {4}\\(?'${name}'\\)`, 'm'));
  expect(start, `${fn} has an arm for ${name}`).toBeGreaterThanOrEqual(0);
  const rest = body.slice(start);
  const end = rest.slice(1).search(/^ {4}\S/m);
  return end < 0 ? rest : rest.slice(0, end + 1);
}

/** A man page's COMMANDS subsections in order, as roff source. */
function manSections(page: string): string[] {
  const commandsPart = page.slice(page.indexOf('.SH "COMMANDS"'), page.indexOf('.SH "OPTIONS"'));
  return commandsPart.split('\n.SS ').slice(1);
}

const roffFlag = (name: string): string => `\\fB\\-\\-${name.replace(/-/g, '\\-')}\\fR`;

describe('option tables and usage texts agree', () => {
  it.each(commands.map((c) => [c.name, c] as const))('tandem %s', (_name, command) => {
    expect(optionDrift(command.usage, command.options)).toEqual([]);
  });

  it('tandem, tandemd and tandem-lab-gateway themselves', () => {
    expect(optionDrift(GLOBAL_USAGE, GLOBAL_OPTIONS)).toEqual([]);
    expect(optionDrift(HELP_USAGE, HELP_OPTION)).toEqual([]);
    expect(optionDrift(AGENT_USAGE, AGENT_OPTIONS)).toEqual([]);
    expect(optionDrift(GATEWAY_USAGE, GATEWAY_OPTIONS)).toEqual([]);
  });

  it('the check fails on each kind of drift', () => {
    const usage = `Usage: x [--out FILE]\n\nOptions:\n  --out FILE   Write here\n  --json       JSON\n`;
    const spec: OptionSpec = { out: { type: 'string' }, json: { type: 'boolean' } };
    expect(optionDrift(usage, spec)).toEqual([]);
    // A new option in the parser's table without a usage line.
    expect(optionDrift(usage, { ...spec, since: { type: 'string' } })).toEqual([
      '--since is parsed but the usage text has no line for it',
    ]);
    // A usage line for an option the parser refuses (renamed or removed).
    expect(optionDrift(usage, { out: spec['out']! })).toEqual([
      'the usage text describes --json, which the parser refuses',
    ]);
    // A short form on one side only; a line without its description.
    expect(optionDrift(usage, { ...spec, json: { type: 'boolean', short: 'j' } })).toEqual([
      '--json: the parser\'s short form is "j", the usage text\'s ""',
    ]);
    expect(optionDrift(`${usage}  --record\n`, { ...spec, record: { type: 'boolean' } })).toEqual([
      '--record has a usage line without a description',
    ]);
  });
});

describe('man pages and completions carry every option', () => {
  const page = tandemManPage(tandem, stamp, paths);
  const scripts = { bash: bashCompletion(tandem), zsh: zshCompletion(tandem), fish: fishCompletion(tandem) };

  it('tandem(1) has a COMMANDS subsection per command with each of its options', () => {
    const sections = manSections(page);
    expect(sections).toHaveLength(commands.length);
    commands.forEach((command, i) => {
      const section = sections[i]!;
      expect(section.startsWith(`"${command.name.replace(/-/g, '\\-')}`), section.slice(0, 60)).toBe(true);
      for (const name of [...Object.keys(command.options), 'help'])
        expect(section, `${command.name} --${name}`).toContain(roffFlag(name));
    });
    for (const name of Object.keys(GLOBAL_OPTIONS)) expect(page).toContain(roffFlag(name));
  });

  it('tandemd(8) and tandem-lab-gateway(1) list each option', () => {
    const agentPage = tandemdManPage(describeProgram('tandemd', AGENT_USAGE, AGENT_OPTIONS), stamp, paths);
    const gatewayPage = labGatewayManPage(describeProgram('tandem-lab-gateway', GATEWAY_USAGE, GATEWAY_OPTIONS), stamp);
    for (const name of Object.keys(AGENT_OPTIONS)) expect(agentPage, name).toContain(roffFlag(name));
    for (const name of Object.keys(GATEWAY_OPTIONS)) expect(gatewayPage, name).toContain(roffFlag(name));
    expect(agentPage).not.toContain('(undocumented)');
    expect(gatewayPage).not.toContain('(undocumented)');
  });

  it('each completion script offers every option of every command', () => {
    const merged = byName(tandem.commands);
    for (const command of commands) {
      const names = [...Object.keys(command.options), 'help'];
      expect(merged.find((m) => m.name === command.name)).toBeDefined();
      const bash = arm(scripts.bash, '_tandem_options', command.name);
      const zsh = arm(scripts.zsh, '_tandem_options', command.name);
      const fishCondition = `-n '__tandem_is \\'${command.name}\\''`;
      for (const name of names) {
        expect(bash.split(/[' ]/), `bash ${command.name} --${name}`).toContain(`--${name}`);
        expect(zsh, `zsh ${command.name} --${name}`).toContain(`'--${name}:`);
        expect(scripts.fish, `fish ${command.name} --${name}`).toContain(`${fishCondition} -l ${name}`);
      }
    }
  });

  it('a value-taking option declared in a command is completed as a value, a flag is not', () => {
    const select = arm(scripts.bash, '_tandem_value', 'certs select');
    expect(select).toMatch(/--profile\|[^)]*\) REPLY='file'/);
    expect(select).toMatch(/--tunnel[^)]*\) REPLY='choice user machine'/);
    expect(select).not.toContain('--json');
  });
});
