/**
 * The scripted agent's side of the diagnostic bundle (API 2.0), close enough to tandemd's for the
 * real `buildBundle` to run against it: `diagnostics.collect` asks the caller for its certificate
 * verdicts (a `certs.list` reverse request on the same connection, while the call is pending, as
 * the real agent does), then offers a few files redacted under the caller's key (the gateway's
 * name registered, its token reported back as a masked value) with their true size and SHA-256,
 * the administrators' log only to administrators; `diagnostics.read` serves them in small chunks
 * with `eof`, only to the uid that collected. A test can hold a collection until it releases it,
 * or make collect or a read fail.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ErrorCodes, TandemError } from '@tandem/common';
import type { ParamsOf, ResultOf } from '@tandem/contract';
import { BundleRedactor, formatOf, type TokenKind } from '@tandem/diagnostics';
import type { CallContext } from '@tandem/ipc/server';

/** Bytes per `diagnostics.read` answer: small, so every file takes several reads. */
export const SCRIPTED_CHUNK = 64;

/** What the test sees and steers. */
export interface ScriptedDiagnostics {
  /** Collections started, in order (bundle id, the certificates the caller listed). */
  readonly collected: Array<{ bundleId: string; uid: number; certificates: string[] }>;
  /** Reads served. */
  reads: number;
  /** The next collect waits until the returned function is called. */
  hold(): () => void;
  /** The next collect fails with this error. */
  failCollect: TandemError | null;
  /** Reads of this file fail (the agent dropped the collection). */
  failReadOf: string | null;
  collect(params: ParamsOf<'diagnostics.collect'>, ctx: CallContext): Promise<ResultOf<'diagnostics.collect'>>;
  read(params: ParamsOf<'diagnostics.read'>, ctx: CallContext): Promise<ResultOf<'diagnostics.read'>>;
}

/** The gateway's name, which the agent masks and reports. */
export const GATEWAY = 'vpn.example.test';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A new scripted diagnostics side. */
export function scriptedDiagnostics(): ScriptedDiagnostics {
  const collections = new Map<string, { uid: number; files: Map<string, Buffer> }>();
  let gate: Promise<void> | null = null;
  const d: ScriptedDiagnostics = {
    collected: [],
    reads: 0,
    failCollect: null,
    failReadOf: null,
    hold() {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return release;
    },
    async collect(params, ctx) {
      if (gate) {
        const g = gate;
        gate = null;
        await g;
      }
      if (d.failCollect) {
        const err = d.failCollect;
        d.failCollect = null;
        throw err;
      }
      const { certificates } = await ctx.reverse('certs.list', { purpose: 'auth' });
      const subjects = certificates.map((c) => c.subject);
      d.collected.push({ bundleId: params.bundleId, uid: ctx.peer.uid, certificates: subjects });
      const admin = ctx.perms.includes('admin');
      const redactor = new BundleRedactor({ key: Buffer.from(params.key, 'base64'), known: { hosts: [GATEWAY] } });
      const texts: Array<[string, string]> = [
        ['summary.txt', `Tandem agent 0.1.0-scripted\nBundle ${params.bundleId}\nGateway ${GATEWAY}\n`],
        ['agent/state.json', JSON.stringify({ user: 'idle', gateway: GATEWAY })],
        ['certificates/user.txt', `${subjects.map((s) => `subject: ${s}`).join('\n')}\n`],
      ];
      if (admin) texts.push(['agent/logs/agent.log', `${JSON.stringify({ msg: 'started' })}\n`]);
      const files = new Map(texts.map(([path, text]) => [path, Buffer.from(redactor.content(text, formatOf(path)))]));
      const collection = randomBytes(16).toString('hex');
      collections.set(collection, { uid: ctx.peer.uid, files });
      const entries = [...files].map(([path, body]) => ({
        path,
        size: body.length,
        sha256: sha256(body),
        collector: path.split('/')[0]!.replace('.txt', ''),
        exit: 'ok',
        ms: 1,
        truncated: false,
      }));
      return {
        collection,
        files: entries,
        skipped: [],
        collectors: entries.map((e) => ({ name: e.collector, exit: 'ok', ms: 1, files: [e.path] })),
        redaction: {
          rules: {},
          values: Object.entries(redactor.redactionMap(params.bundleId).tokens).flatMap(([kind, map]) =>
            Object.keys(map).map((value) => ({ kind: kind as TokenKind, value })),
          ),
        },
        audience: admin ? 'admin' : 'user',
      };
    },
    async read({ collection, path, offset }, ctx) {
      d.reads++;
      const c = collections.get(collection);
      const body = c?.uid === ctx.peer.uid ? c.files.get(path) : undefined;
      if (!body) throw new TandemError(ErrorCodes.IPC_PARAMS, 'no such collected file');
      if (d.failReadOf === path) throw new TandemError(ErrorCodes.INTERNAL, 'the collection is gone');
      const chunk = body.subarray(offset, offset + SCRIPTED_CHUNK);
      return { data: chunk.toString('base64'), eof: offset + chunk.length >= body.length };
    },
  };
  return d;
}
