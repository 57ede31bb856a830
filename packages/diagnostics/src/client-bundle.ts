/**
 * `tandem diag bundle` and the tray's "Create diagnostic bundle", one implementation: the
 * caller (as the user, in the user's directory) starts the archive, asks the agent for its part
 * with the bundle's id and key (`diagnostics.collect`), reads each agent file in chunks
 * (`diagnostics.read`), adds its own files, and finishes the archive with the redaction map
 * beside it. The agent's tokens are this bundle's tokens because both use the same key; the
 * values the agent masked join this side's redaction map.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { ErrorCodes, TandemError } from '@tandem/common';
import type { ParamsOf, ResultOf } from '@tandem/contract';
import type { BundleData } from './tail.js';
import type { ExitStatus } from './manifest.js';
import { SUMMARY_PATH } from './manifest.js';
import { writeRedactionMap } from './map.js';
import type { RedactionMap, TokenKind } from './tokens.js';
import { createBundle, type BundleResult } from './writer.js';

type DiagMethod = 'diagnostics.collect' | 'diagnostics.read';

/** The agent as the builder needs it: a typed call on an open, authenticated connection. */
export interface DiagnosticsLink {
  call<M extends DiagMethod>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>>;
}

/** Where the build is, for a progress bar. */
export type BundleProgress =
  | { phase: 'collecting' }
  | { phase: 'receiving'; done: number; total: number }
  | { phase: 'writing' }
  | { phase: 'done'; path: string; bundleId: string };

/** A file the caller adds itself (its own logs, the user side's facts). */
export interface CallerFile {
  path: string;
  data: BundleData;
  collector: string;
}

/** Options of {@link buildBundle}. */
export interface BuildOptions {
  link: DiagnosticsLink;
  toolVersion: string;
  /** The archive's path; default: the standard name in `dir`. */
  out?: string;
  /** Where the default name goes (the current directory by default). */
  dir?: string;
  /** false: `--no-redact` (the agent refuses it to non-administrators). */
  redact: boolean;
  sinceSeconds?: number;
  /** The caller's own files, added after the agent's. */
  callerFiles?: () => Promise<CallerFile[]>;
  /** A few lines the caller appends to the agent's summary (who ran it, from where). */
  callerSummary?: string;
  onProgress?: (p: BundleProgress) => void;
}

/** The result: the archive, its id and the redaction map's path (null when not redacting). */
export interface BuiltBundle extends BundleResult {
  mapPath: string | null;
  /** Whether the agent gave the administrators' part. */
  audience: 'admin' | 'user';
}

const exitOf = (text: string): ExitStatus =>
  text === 'ok' || text === 'error' || text === 'timeout' ? text : Number.parseInt(text, 10);

async function readAll(link: DiagnosticsLink, collection: string, path: string, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const { data, eof } = await link.call('diagnostics.read', { collection, path, offset });
    const chunk = Buffer.from(data, 'base64');
    parts.push(chunk);
    offset += chunk.length;
    if (eof) break;
    if (chunk.length === 0 || offset > size)
      throw new TandemError(ErrorCodes.PROTOCOL, `the agent's ${path} does not end where its size says`);
  }
  return Buffer.concat(parts);
}

/** Builds one bundle; on failure no archive is left behind. */
export async function buildBundle(options: BuildOptions): Promise<BuiltBundle> {
  const key = randomBytes(32);
  const bundle = createBundle({
    toolVersion: options.toolVersion,
    redaction: { mode: options.redact ? 'tokens' : 'none', key },
    ...(options.out ? { out: options.out } : {}),
    ...(options.dir ? { dir: options.dir } : {}),
  });
  try {
    options.onProgress?.({ phase: 'collecting' });
    const agent = await options.link.call('diagnostics.collect', {
      bundleId: bundle.bundleId,
      key: key.toString('base64'),
      redact: options.redact,
      ...(options.sinceSeconds !== undefined ? { sinceSeconds: options.sinceSeconds } : {}),
    });
    const tokens: RedactionMap['tokens'] = {};
    for (const v of agent.redaction.values) (tokens[v.kind as TokenKind] ??= {})[v.value] = '';
    bundle.redactor.merge({ rules: agent.redaction.rules, tokens });
    // What the agent found worth masking is masked in this side's files too.
    const names = (kind: TokenKind): string[] => Object.keys(tokens[kind] ?? {});
    bundle.redactor.register({
      hosts: names('host'),
      users: names('user'),
      groups: names('group'),
      domains: names('dom'),
    });
    // The summary first: the total cap keeps what came first.
    const files = [...agent.files].sort((a, b) => Number(b.path === SUMMARY_PATH) - Number(a.path === SUMMARY_PATH));
    let done = 0;
    for (const f of files) {
      options.onProgress?.({ phase: 'receiving', done, total: files.length });
      let body = await readAll(options.link, agent.collection, f.path, f.size);
      if (f.path === SUMMARY_PATH && options.callerSummary)
        body = Buffer.concat([body, Buffer.from(`\n${options.callerSummary.trimEnd()}\n`)]);
      await bundle.add(f.path, body, {
        collector: `agent:${f.collector}`,
        exit: exitOf(f.exit),
        ms: f.ms,
        truncated: f.truncated,
        ...(f.originalSize !== undefined ? { originalSize: f.originalSize } : {}),
      });
      done++;
    }
    if (options.callerSummary && !files.some((f) => f.path === SUMMARY_PATH))
      await bundle.add(SUMMARY_PATH, `${options.callerSummary.trimEnd()}\n`, { collector: 'caller' });
    for (const c of agent.collectors)
      bundle.recordCollector({ ...c, name: `agent:${c.name}`, exit: exitOf(c.exit), files: [...c.files] });
    for (const s of agent.skipped) bundle.recordSkipped({ ...s, collector: `agent:${s.collector}` });
    options.onProgress?.({ phase: 'writing' });
    for (const f of (await options.callerFiles?.()) ?? []) await bundle.add(f.path, f.data, { collector: f.collector });
    const result = await bundle.finish();
    let mapPath: string | null = null;
    try {
      mapPath = options.redact ? writeRedactionMap(result.path, result.redactionMap) : null;
    } catch (err) {
      // A bundle whose tokens nobody can map back is not what was asked for: nothing is left.
      rmSync(result.path, { force: true });
      throw err;
    }
    try {
      options.onProgress?.({ phase: 'done', path: result.path, bundleId: result.bundleId });
    } catch {
      // The bundle is written; a failing progress display does not undo it.
    }
    return { ...result, mapPath, audience: agent.audience };
  } catch (err) {
    bundle.abort();
    throw err;
  }
}
