/**
 * A recorded fake of the macOS commands the routes-and-DNS backend runs: a small model of the
 * routing table and the dynamic store, every invocation recorded as one line (scutil's stdin
 * with its lines joined by " | "), answers worded like the real tools' ("File exists", "not in
 * table"), and a hook to force any exit. Like the Windows fake it checks that the journal on
 * disk lists a physical route or a key before the command that adds it.
 */
import type { CommandResult, DarwinCommands } from '../src/commands-api-darwin.js';
import { journalPath, readJournal } from '@tandem/tunnel';

const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });

export class FakeMac implements DarwinCommands {
  readonly calls: string[] = [];
  /** `route add` arguments after the verb, for the routes that exist. */
  readonly routes = new Set<string>();
  readonly keys = new Set<string>();
  /** The physical uplink `route get` reports. */
  physical = { interface: 'en0', router: '192.168.1.1' };
  force: (line: string) => CommandResult | undefined = () => undefined;
  journal: { dir: string; pid: number } | null = null;

  private journaled(what: string, listed: (routes: string[], keys: string[]) => boolean): void {
    if (!this.journal) return;
    const host = readJournal(journalPath(this.journal.dir, this.journal.pid))?.host;
    const routes = host?.routes.map((r) => `${r.destination} ${r.nextHop || r.interface}`) ?? [];
    if (!listed(routes, host?.dnsKeys ?? [])) this.calls.push(`!! not journaled before the change: ${what}`);
  }

  route(args: string[]): Promise<CommandResult> {
    const line = `route ${args.join(' ')}`;
    this.calls.push(line);
    const forced = this.force(line);
    if (forced) return Promise.resolve(forced);
    const [, verb, ...rest] = args;
    if (verb === 'get') {
      const scope = rest.indexOf('-ifscope');
      if (scope >= 0 && rest[scope + 1] !== this.physical.interface)
        return Promise.resolve({ code: 1, stdout: '', stderr: 'route: bad interface name\n' });
      const gw = this.physical.router ? `    gateway: ${this.physical.router}\n` : '';
      const flags = this.physical.router ? '<UP,GATEWAY,DONE,STATIC,PRCLONING>' : '<UP,DONE,CLONING>';
      const out = `   route to: ${rest.at(-1)}\ndestination: default\n${gw}  interface: ${this.physical.interface}\n      flags: ${flags}\n`;
      return Promise.resolve(ok(out));
    }
    const key = rest.join(' ');
    if (verb === 'add') {
      if (!key.includes('-interface utun')) {
        const dest = rest.filter((a) => !a.startsWith('-'));
        const hop = dest[1] === undefined ? rest.at(-1) : dest[1].replace(/%.*/, '');
        const d = dest[0]?.includes('/') ? dest[0] : `${dest[0]}/${key.includes('-inet6') ? 128 : 32}`;
        this.journaled(key, (routes) => routes.includes(`${d} ${hop}`));
      }
      if (this.routes.has(key))
        return Promise.resolve({
          code: 1,
          stdout: `add ${key}: gateway: File exists\n`,
          stderr: 'route: writing to routing socket: File exists\n',
        });
      this.routes.add(key);
      return Promise.resolve(ok(`add ${key}\n`));
    }
    if (verb === 'delete') {
      if (!this.routes.delete(key))
        return Promise.resolve({ code: 1, stdout: '', stderr: `route: writing to routing socket: not in table\n` });
      return Promise.resolve(ok(`delete ${key}\n`));
    }
    return Promise.resolve({ code: 64, stdout: '', stderr: 'usage: route\n' });
  }

  ifconfig(args: string[]): Promise<CommandResult> {
    const line = `ifconfig ${args.join(' ')}`;
    this.calls.push(line);
    return Promise.resolve(this.force(line) ?? ok());
  }

  scutil(script: string): Promise<CommandResult> {
    const line = `scutil ${script.trim().split('\n').join(' | ')}`;
    for (const l of script.split('\n')) {
      const [cmd, key] = l.split(' ');
      if (cmd === 'set' && key) this.journaled(key, (_r, keys) => keys.includes(key));
    }
    this.calls.push(line);
    const forced = this.force(line);
    if (forced) return Promise.resolve(forced);
    for (const l of script.split('\n')) {
      const [cmd, key] = l.split(' ');
      if (cmd === 'set' && key) this.keys.add(key);
      if (cmd === 'remove' && key) this.keys.delete(key);
    }
    return Promise.resolve(ok());
  }

  /** The utun interface went away: routes through it with it. */
  removeInterface(tun: string): void {
    for (const r of [...this.routes]) if (r.endsWith(`-interface ${tun}`)) this.routes.delete(r);
  }
}
