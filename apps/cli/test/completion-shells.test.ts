/**
 * `tandem completion bash|zsh|fish` in the real shells: the script the built binary prints is
 * loaded into bash (and zsh, fish when installed) and asked what completes a given line.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { titled, which } from '@tandem/testkit';
import { COMMANDS } from '../src/commands.js';
import { ensureBuilt, tandem } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tandem-completion-'));
const scripts: Record<string, string> = {};
beforeAll(() => {
  ensureBuilt();
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = tandem(['completion', shell]);
    expect(r.code, r.stderr).toBe(0);
    scripts[shell] = join(dir, `tandem.${shell}`);
    writeFileSync(scripts[shell], r.stdout);
  }
  writeFileSync(join(dir, 'profile.xml'), '');
  mkdirSync(join(dir, 'profiles.d'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(file: string, args: string[]): string[] {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 20_000, maxBuffer: 4 << 20, cwd: dir });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** Every command's options as `--name`, merged by name (connect and connect --foreground). */
async function optionsByName(): Promise<Map<string, Set<string>>> {
  const byName = new Map<string, Set<string>>();
  for (const entry of COMMANDS) {
    const command = await entry.load();
    const set = byName.get(command.name) ?? new Set(['--help']);
    for (const name of Object.keys(command.options)) set.add(`--${name}`);
    byName.set(command.name, set);
  }
  return byName;
}

it('tandem completion refuses a shell it does not know, or none (exit 2)', () => {
  expect(tandem(['completion', 'tcsh']).code).toBe(2);
  expect(tandem(['completion']).code).toBe(2);
});

const bash = which('bash');
describe.skipIf(!bash)(titled('bash completion', bash ? null : 'needs bash'), () => {
  const DRIVER = `source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=\${#COMP_LINE}
_tandem
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const complete = (...words: string[]): string[] =>
    run(bash!, ['--norc', '--noprofile', '-c', DRIVER, 'driver', scripts['bash']!, 'tandem', ...words]);

  it('registers _tandem for tandem', () => {
    expect(
      run(bash!, ['--norc', '--noprofile', '-c', 'source "$1"; complete -p tandem', 'x', scripts['bash']!]),
    ).toEqual(['complete -F _tandem tandem']);
  });

  it('completes command words, one level at a time', () => {
    expect(complete('di')).toEqual(['diag', 'disconnect']);
    expect(complete('diag', 'b')).toEqual(['bundle']);
    expect(complete('machine-tunnel', '')).toEqual(['status', 'enable', 'disable']);
    expect(complete('certs', '')).toEqual(['list', 'select']);
    expect(complete('help', 'profile', '')).toEqual(['check']);
    expect(complete('-')).toEqual(['--version', '-V', '--help', '-h']);
  });

  it("completes a command's options, and their values", () => {
    expect(complete('diag', 'bundle', '--s')).toEqual(['--since', '--socket']);
    expect(complete('connect', '--')).toContain('--user-store');
    expect(complete('connect', '--')).toContain('--foreground');
    expect(complete('certs', 'list', '--store', '')).toEqual(['machine', 'user', 'all']);
    expect(complete('completion', '')).toEqual(['bash', 'zsh', 'fish']);
    expect(complete('profile', 'check', 'prof').sort()).toEqual(['profile.xml', 'profiles.d']);
    expect(complete('certs', 'select', '--user-store', 'prof')).toEqual(['profiles.d']);
    expect(complete('diag', 'bundle', '--since', '')).toEqual([]);
  });

  it('offers exactly the options each command parses', async () => {
    for (const [name, expected] of await optionsByName()) {
      expect(new Set(complete(...name.split(' '), '--')), name).toEqual(expected);
    }
  });
});

const zsh = which('zsh');
describe.skipIf(!zsh)(titled('zsh completion', zsh ? null : 'needs zsh (apt-get install zsh; .ci/run does)'), () => {
  // compsys needs a terminal; its entry points are stood in for by functions that print what
  // they were given, and `words`/`CURRENT` set as a completion widget would.
  const DRIVER = `compdef() { :; }
_describe() { local -a arr; arr=("\${(@P)\${@[-1]}}"); print -rl -- "\${(@)arr%%:*}"; }
compadd() { shift; print -rl -- "$@"; }
_files() { print -r -- "<files $*>"; }
_message() { :; }
source "$1"; shift
words=("$@"); CURRENT=$#
_tandem`;
  const complete = (...words: string[]): string[] =>
    run(zsh!, ['-f', '-c', DRIVER, 'driver', scripts['zsh']!, 'tandem', ...words]);

  it('parses (zsh -n)', () => {
    run(zsh!, ['-n', scripts['zsh']!]);
  });

  it('offers command words, options and values', async () => {
    expect(complete('diag', '')).toEqual(['bundle', 'inspect']);
    expect(complete('certs', 'list', '--store', '')).toEqual(['machine', 'user', 'all']);
    expect(complete('profile', 'check', '')).toEqual(['<files >']);
    expect(complete('certs', 'select', '--user-store', '')).toEqual(['<files -/>']);
    for (const [name, expected] of await optionsByName()) {
      const offered = complete(...name.split(' '), '--').filter((o) => o.startsWith('--'));
      expect(new Set(offered), name).toEqual(expected);
    }
  });
});

const fish = which('fish');
describe.skipIf(!fish)(
  titled('fish completion', fish ? null : 'needs fish (apt-get install fish; .ci/run does)'),
  () => {
    const complete = (line: string): string[] =>
      run(fish!, ['--no-config', '-c', 'source $argv[1]; complete -C $argv[2]', scripts['fish']!, line]).map(
        (l) => l.split('\t')[0]!,
      );

    it('parses (fish -n)', () => {
      run(fish!, ['-n', scripts['fish']!]);
    });

    it('offers command words, options and values', async () => {
      expect(complete('tandem di')).toEqual(['diag', 'disconnect']);
      expect(complete('tandem diag b')).toEqual(['bundle']);
      expect(complete('tandem diag bundle --s')).toEqual(['--since', '--socket']);
      expect(complete('tandem certs list --store ')).toEqual(['all', 'machine', 'user']);
      expect(complete('tandem profile check prof')).toEqual(['profile.xml', 'profiles.d/']);
      for (const [name, expected] of await optionsByName()) {
        expect(new Set(complete(`tandem ${name} --`)), name).toEqual(expected);
      }
    });
  },
);
