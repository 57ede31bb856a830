/**
 * The agent's side of `tandem diag bundle`: `diagnostics.collect` runs the collectors the
 * caller is entitled to, redacts every file under the caller's per-bundle key (so the agent's
 * tokens are the caller's tokens) and keeps the result in memory; `diagnostics.read` hands it
 * out in chunks to the same uid. The agent never writes a bundle or reads a path a caller
 * chose. Bounded: one collection per uid (a new one replaces the last), three at once (a
 * fourth slot for administrators), a 12 MiB cap each, dropped when read or after 2 minutes.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { ErrorCodes, TandemError, type Logger } from '@tandem/common';
import type { ParamsOf, ResultOf } from '@tandem/contract';
import { BundleRedactor, createCollection, type Collector, type KnownValues } from '@tandem/diagnostics';
import type { CallContext } from '@tandem/ipc/server';
import type { AgentState, Audience } from './agent-files.js';
import {
  certificateFiles,
  configFile,
  eventsFile,
  profileFiles,
  selectionText,
  stateFile,
  statsFile,
} from './agent-files.js';
import { summaryText } from './summary.js';

/** One collector the service runs, and who may have its output. */
export interface PlannedCollector {
  name: string;
  fn: Collector;
  timeoutMs: number;
  adminOnly: boolean;
}

/** What the service needs from the rest of the agent. */
export interface DiagnosticsDeps {
  agentVersion: string;
  state: AgentState;
  log: Logger;
  /** The system, network and log collectors for one request (diag/index.ts). */
  collectors(request: {
    sinceMs: number;
    full: boolean;
    admin: boolean;
    /** Receives the clock skew per gateway host once the reachability check ran. */
    onSkew(skew: Array<{ host: string; seconds: number }>): void;
  }): PlannedCollector[];
  /** `agent/logs/agent.log`: the agent's records since `sinceMs` (administrators only). */
  logs(sinceMs: number): Collector;
  /** The user's certificate verdicts, from the caller's own process (null: it did not answer). */
  userVerdicts(ctx: CallContext): Promise<Parameters<typeof selectionText>[1]>;
  /** Switches verbose logging; returns the level now in force. */
  verbosity: { set(level: 'debug' | null): void; level(): 'debug' | 'info' | 'warn' | 'error' };
  passwdFile?: string;
}

interface Held {
  uid: number;
  admin: boolean;
  files: Map<string, Buffer>;
  unread: Set<string>;
  timer: NodeJS.Timeout;
}

const AGENT_TOTAL_CAP = 12 * 1024 * 1024;
const HOLD_MS = 120_000;
const USERS_HELD_MAX = 3;
const ALL_HELD_MAX = 4;
const RECORD_MS = 30 * 60_000;
const DEFAULT_SINCE_S = 72 * 3600;

/** The collections in flight or held, and the verbose-logging switch. */
export class DiagnosticsService {
  private readonly held = new Map<string, Held>();
  /** Collections being gathered: uid → administrator. */
  private readonly busy = new Map<number, boolean>();
  private recordTimer: NodeJS.Timeout | undefined;
  private recordUntil: Date | undefined;

  constructor(private readonly deps: DiagnosticsDeps) {}

  /** `diagnostics.collect`. */
  async collect(params: ParamsOf<'diagnostics.collect'>, ctx: CallContext): Promise<ResultOf<'diagnostics.collect'>> {
    const who: Audience = { uid: ctx.peer.uid, admin: ctx.perms.includes('admin') };
    if (!params.redact && !who.admin)
      throw new TandemError(ErrorCodes.PERMISSION, 'only administrators may collect without redaction');
    this.admit(who);
    this.busy.set(who.uid, who.admin);
    try {
      return await this.run(params, ctx, who);
    } finally {
      this.busy.delete(who.uid);
    }
  }

  /** `diagnostics.read`. */
  read(params: ParamsOf<'diagnostics.read'>, uid: number): ResultOf<'diagnostics.read'> {
    const c = this.held.get(params.collection);
    // Another user's collection is "unknown" too: its existence is not for them to learn.
    if (!c || c.uid !== uid) throw new TandemError(ErrorCodes.USAGE, 'unknown or expired diagnostic collection');
    const body = c.files.get(params.path);
    if (!body) throw new TandemError(ErrorCodes.USAGE, `no file ${params.path} in this collection`);
    const end = Math.min(body.length, params.offset + 1024 * 1024);
    const eof = end >= body.length;
    if (eof) c.unread.delete(params.path);
    if (c.unread.size === 0) this.drop(params.collection);
    else c.timer.refresh();
    return { data: body.subarray(Math.min(params.offset, body.length), end).toString('base64'), eof };
  }

  /** `diagnostics.record`: verbose logging on for at most 30 minutes, or off. */
  record(on: boolean, uid: number): ResultOf<'diagnostics.record'> {
    clearTimeout(this.recordTimer);
    if (on) {
      this.deps.verbosity.set('debug');
      this.recordUntil = new Date(Date.now() + RECORD_MS);
      this.recordTimer = setTimeout(() => this.record(false, -1), RECORD_MS);
      this.recordTimer.unref();
      this.deps.log.info('verbose logging on for a diagnostic recording', {
        uid,
        until: this.recordUntil.toISOString(),
      });
    } else {
      this.deps.verbosity.set(null);
      this.recordUntil = undefined;
      this.deps.log.info('verbose logging back to normal', uid >= 0 ? { uid } : { reason: 'recording time is over' });
    }
    return {
      level: this.deps.verbosity.level(),
      ...(this.recordUntil ? { until: this.recordUntil.toISOString() } : {}),
    };
  }

  /** Drops every held collection (agent stop). */
  close(): void {
    for (const id of [...this.held.keys()]) this.drop(id);
    clearTimeout(this.recordTimer);
  }

  private admit(who: Audience): void {
    if (this.busy.has(who.uid))
      throw new TandemError(ErrorCodes.IPC_LIMIT, 'a diagnostic collection of this user is already in progress');
    // A new bundle replaces one the same user did not finish reading (a client that died).
    for (const [id, c] of this.held) if (c.uid === who.uid) this.drop(id);
    const users =
      [...this.held.values()].filter((c) => !c.admin).length + [...this.busy.values()].filter((a) => !a).length;
    const all = this.held.size + this.busy.size;
    if (all >= ALL_HELD_MAX || (!who.admin && users >= USERS_HELD_MAX))
      throw new TandemError(ErrorCodes.IPC_LIMIT, 'too many diagnostic collections in progress; try again shortly');
  }

  private async run(
    params: ParamsOf<'diagnostics.collect'>,
    ctx: CallContext,
    who: Audience,
  ): Promise<ResultOf<'diagnostics.collect'>> {
    const { state, log } = this.deps;
    log.info(`diagnostic bundle ${params.bundleId} created`, {
      uid: who.uid,
      audience: who.admin ? 'admin' : 'user',
      redaction: params.redact ? 'tokens' : 'none',
    });
    const redactor = new BundleRedactor({
      mode: params.redact ? 'tokens' : 'none',
      key: Buffer.from(params.key, 'base64'),
      known: await this.known(),
    });
    const files = new Map<string, Buffer>();
    const collection = createCollection({
      redactor,
      totalCapBytes: AGENT_TOTAL_CAP,
      onFile: (path, body) => files.set(path, body),
    });
    const sinceMs = Date.now() - (params.sinceSeconds ?? DEFAULT_SINCE_S) * 1000;
    let skew: Array<{ host: string; seconds: number }> = [];
    const planned: PlannedCollector[] = [
      { name: 'agent/logs/agent.log', fn: this.deps.logs(sinceMs), timeoutMs: 5000, adminOnly: true },
      { name: 'agent/state.json', fn: stateFile(state, who), timeoutMs: 2000, adminOnly: false },
      { name: 'agent/stats.txt', fn: statsFile(state, who), timeoutMs: 2000, adminOnly: false },
      { name: 'agent/events.jsonl', fn: eventsFile(state, who), timeoutMs: 2000, adminOnly: false },
      { name: 'agent/config/effective.json', fn: configFile(state, who), timeoutMs: 2000, adminOnly: false },
      { name: 'profiles/validation.txt', fn: profileFiles(state, who), timeoutMs: 5000, adminOnly: false },
      { name: 'certificates', fn: certificateFiles(state, who), timeoutMs: 5000, adminOnly: false },
      { name: 'certificates/user-candidates.txt', fn: this.userCandidates(ctx), timeoutMs: 15_000, adminOnly: false },
      ...this.deps.collectors({ sinceMs, full: !params.redact, admin: who.admin, onSkew: (s) => (skew = s) }),
    ].filter((c) => who.admin || !c.adminOnly);
    await Promise.all(planned.map((c) => collection.addCollector(c.name, c.fn, { timeoutMs: c.timeoutMs })));
    await collection.addCollector(
      'summary.txt',
      async () =>
        summaryText(state, {
          bundleId: params.bundleId,
          agentVersion: this.deps.agentVersion,
          who,
          redact: params.redact,
          skew,
          collectors: collection.collectors,
        }),
      { timeoutMs: 5000 },
    );
    await collection.close();
    const id = randomBytes(16).toString('hex');
    const timer = setTimeout(() => this.drop(id), HOLD_MS);
    timer.unref();
    this.held.set(id, { uid: who.uid, admin: who.admin, files, unread: new Set(files.keys()), timer });
    const map = redactor.redactionMap(params.bundleId).tokens;
    const values = Object.entries(map)
      .flatMap(([kind, entries]) => Object.keys(entries ?? {}).map((value) => ({ kind, value: value.slice(0, 512) })))
      .slice(0, 4096) as ResultOf<'diagnostics.collect'>['redaction']['values'];
    log.info(`diagnostic bundle ${params.bundleId}: ${files.size} files collected`, { uid: who.uid });
    const exitText = (e: number | string): string => String(e);
    return {
      collection: id,
      files: collection.files.map((f) => ({
        path: f.path,
        size: f.size,
        sha256: f.sha256,
        collector: f.collector,
        exit: exitText(f.exit),
        ms: f.ms,
        truncated: f.truncated,
        ...(f.original_size !== undefined ? { originalSize: f.original_size } : {}),
      })),
      skipped: collection.skipped.map((s) => ({ ...s, detail: s.detail.slice(0, 512) })),
      collectors: collection.collectors.map((c) => ({
        name: c.name,
        exit: exitText(c.exit),
        ms: c.ms,
        ...(c.error ? { error: c.error.slice(0, 2048) } : {}),
        files: c.files.slice(0, 32),
      })),
      redaction: { rules: redactor.report().rules, values },
      audience: who.admin ? 'admin' : 'user',
    };
  }

  private userCandidates(ctx: CallContext): Collector {
    return async () => {
      const record = await this.deps.userVerdicts(ctx);
      return [
        "The user's certificate store, as the caller's own process listed it, with the verdicts of",
        "the user tunnel's profile rules (the agent never opens a user's store).",
        '',
        ...selectionText('User certificates', record),
      ].join('\n');
    };
  }

  /** Names to mask wherever they appear: this machine, the gateways, the profiles' groups, local accounts. */
  private async known(): Promise<KnownValues> {
    const set = this.deps.state.profiles();
    const hosts = new Set<string>([hostname()]);
    const domains = new Set<string>();
    const groups = new Set<string>();
    for (const h of [...set.merged.hosts, ...(set.machine?.serverList ?? [])]) {
      for (const v of [h.hostName, h.hostAddress]) {
        const host = v.replace(/^https?:\/\//, '').replace(/[:/].*$/, '');
        if (!host) continue;
        hosts.add(host);
        const labels = host.split('.');
        if (labels.length > 2 && !/^\d+$/.test(labels.at(-1) ?? '')) domains.add(labels.slice(1).join('.'));
      }
      if (h.userGroup) groups.add(h.userGroup);
    }
    const passwd = await readFile(this.deps.passwdFile ?? '/etc/passwd', 'utf8').catch(() => '');
    const users = passwd
      .split('\n')
      .map((l) => l.split(':'))
      .filter((f) => f.length >= 7 && Number(f[2]) >= 1000 && Number(f[2]) < 65534)
      .map((f) => f[0]!)
      .filter((n) => n.length >= 2);
    return { hosts: [...hosts], domains: [...domains], groups: [...groups], users };
  }

  private drop(id: string): void {
    const c = this.held.get(id);
    if (!c) return;
    clearTimeout(c.timer);
    this.held.delete(id);
  }
}
