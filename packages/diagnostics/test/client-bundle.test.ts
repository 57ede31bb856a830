/**
 * buildBundle against an in-process stand-in for the agent that speaks the contract's two
 * methods faithfully: files redacted under the caller's key, read back in chunks. Checks what
 * the CLI and the tray rely on: the agent's tokens are the bundle's tokens, the agent's masked
 * names are masked in the caller's own files too, the summary leads, and a failure leaves nothing.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes, TandemError } from '@tandem/common';
import type { ParamsOf, ResultOf } from '@tandem/contract';
import { BundleRedactor, buildBundle, inspectBundle, type DiagnosticsLink } from '../src/index.js';
import { entries } from './zip-tools.js';

const dir = mkdtempSync(join(tmpdir(), 'tandem-client-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The agent's side: two files redacted under the key the caller sends, 7-byte chunks. */
function agentLink(fail?: 'collect' | 'read'): DiagnosticsLink & { reads: number } {
  const held = new Map<string, Buffer>();
  const link = {
    reads: 0,
    async call<M extends 'diagnostics.collect' | 'diagnostics.read'>(method: M, params: ParamsOf<M>) {
      if (method === 'diagnostics.collect') {
        if (fail === 'collect') throw new TandemError(ErrorCodes.IPC_LIMIT, 'busy');
        const p = params as ParamsOf<'diagnostics.collect'>;
        const r = new BundleRedactor({ key: Buffer.from(p.key, 'base64'), known: { hosts: ['vpn.corp.example'] } });
        held.set('summary.txt', Buffer.from(r.content('Machine tunnel: connected to vpn.corp.example\n', 'text')));
        held.set('network/dns.txt', Buffer.from(r.content('gateway: vpn.corp.example\n', 'text')));
        const files = [...held].map(([path, body]) => ({
          path,
          size: body.length,
          sha256: createHash('sha256').update(body).digest('hex'),
          collector: path,
          exit: 'ok',
          ms: 1,
          truncated: false,
        }));
        const values = Object.entries(r.redactionMap(p.bundleId).tokens).flatMap(([kind, m]) =>
          Object.keys(m ?? {}).map((value) => ({ kind, value })),
        );
        return {
          collection: 'c'.repeat(32),
          files: files.reverse(), // the summary last: the caller must put it first
          skipped: [],
          collectors: files.map((f) => ({ name: f.path, exit: 'ok', ms: 1, files: [f.path] })),
          redaction: { rules: r.report().rules, values },
          audience: 'user',
        } as ResultOf<M>;
      }
      const p = params as ParamsOf<'diagnostics.read'>;
      link.reads++;
      if (fail === 'read') throw new TandemError(ErrorCodes.IPC_CLOSED, 'agent went away');
      const body = held.get(p.path)!;
      const end = Math.min(body.length, p.offset + 7);
      return { data: body.subarray(p.offset, end).toString('base64'), eof: end >= body.length } as ResultOf<M>;
    },
  };
  return link;
}

describe('buildBundle (the CLI and the tray)', () => {
  it('one token per name across the agent’s and the caller’s files; the summary first; the map covers both', async () => {
    const out = mkdtempSync(join(dir, 'one-'));
    const link = agentLink();
    const built = await buildBundle({
      link,
      toolVersion: '0.0.0-test',
      dir: out,
      redact: true,
      callerSummary: 'This side: the test',
      callerFiles: async () => [{ path: 'client/cli.txt', collector: 'cli', data: 'asked vpn.corp.example\n' }],
    });
    expect(link.reads).toBeGreaterThan(4); // chunked
    const report = await inspectBundle(built.path);
    expect(report.problems).toEqual([]);
    expect(report.manifest.files[0]!.path).toBe('summary.txt');
    expect(report.manifest.files.map((f) => f.collector)).toContain('agent:network/dns.txt');
    const map = JSON.parse(readFileSync(built.mapPath!, 'utf8')) as { tokens: { host: Record<string, string> } };
    const token = map.tokens.host['vpn.corp.example']!;
    expect(token).toMatch(/^host-[0-9a-f]{8}$/);
    expect(report.summary).toContain(`connected to ${token}`);
    expect(report.summary).toContain('This side: the test');
    const files = await entries(built.path);
    expect(files.get('client/cli.txt')!.toString()).toBe(`asked ${token}\n`);
    for (const body of files.values()) expect(body.toString()).not.toContain('vpn.corp.example');
    expect(built.audience).toBe('user');
  });

  it('an agent that refuses or breaks off leaves no file behind', async () => {
    for (const fail of ['collect', 'read'] as const) {
      const out = mkdtempSync(join(dir, `fail-${fail}-`));
      await expect(buildBundle({ link: agentLink(fail), toolVersion: 't', dir: out, redact: true })).rejects.toThrow(
        fail === 'collect' ? /busy/ : /went away/,
      );
      expect(readdirSync(out)).toEqual([]);
    }
  });
});
