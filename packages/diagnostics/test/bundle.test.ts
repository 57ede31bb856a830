/**
 * The bundle as real tools see it: unzip -t and Python's zipfile read it and agree with the
 * manifest; collectors that throw or hang are recorded while the bundle completes; the per-file
 * cap keeps a log's tail and the total cap holds; inspect finds a changed, a missing and an extra
 * file; the file name, the id and the redaction map's place and mode.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, isTandemError } from '@tandem/common';
import {
  createBundle,
  inspectBundle,
  mismatchError,
  newBundleId,
  parseManifest,
  writeRedactionMap,
  type ManifestFile,
} from '@tandem/diagnostics';
import { missing, tempDir } from '@tandem/testkit';
import { entries, pythonList, rewrite, unzipTest } from './zip-tools.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A small bundle with a summary, a JSON state, a log stream, a failing and a hanging collector. */
async function sample(dir: string): Promise<Awaited<ReturnType<ReturnType<typeof createBundle>['finish']>>> {
  const b = createBundle({ dir, toolVersion: '9.9.9', host: 'testhost' });
  await b.add('summary.txt', 'Tandem 9.9.9\nuser tunnel: connected\n');
  await b.add('agent/state.json', JSON.stringify({ user: { state: 'connected' }, machine: { state: 'idle' } }));
  await b.add('agent/logs/agent.log', Readable.from(['{"event":"up"}\n', '{"event":"down"}\n']), {
    collector: 'agent-logs',
  });
  const failed = b.addCollector('network/routes4.txt', async () => {
    throw new Error('ip: command not found');
  });
  const hung = b.addCollector('network/dns.txt', () => new Promise(() => undefined), { timeoutMs: 300 });
  const partial = b.addCollector(
    'system/os.txt',
    async (ctx) => {
      await ctx.add('system/kernel.txt', 'Linux 6.1\n');
      return new Promise(() => undefined);
    },
    { timeoutMs: 300 },
  );
  const ok = b.addCollector('system/uname.txt', async () => ({ data: 'Linux x86_64\n', exit: 3 }));
  expect((await failed).exit).toBe('error');
  expect((await hung).exit).toBe('timeout');
  await Promise.all([partial, ok]);
  return b.finish();
}

describe('bundle archive', () => {
  it('is a valid ZIP for unzip and Python, and every manifest hash matches', async () => {
    const dir = tempDir('diag-zip');
    const result = await sample(dir);
    expect(result.path.startsWith(join(dir, 'tandem-diag-host-'))).toBe(true);
    expect(result.path).toMatch(/tandem-diag-host-[0-9a-f]{8}-\d{8}T\d{6}Z\.zip$/);
    expect(result.bundleId).toMatch(/^DIAG-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(result.size).toBe(statSync(result.path).size);
    expect(statSync(result.path).mode & 0o777).toBe(0o600);

    const got = await entries(result.path);
    const manifest = parseManifest(got.get('manifest.json')!.toString('utf8'));
    expect(manifest.bundle_id).toBe(result.bundleId);
    expect(manifest.bundle_id_full.startsWith(result.bundleId.replace(/DIAG-|-/g, ''))).toBe(true);
    expect(new Set(got.keys())).toEqual(new Set([...manifest.files.map((f) => f.path), 'manifest.json']));
    for (const f of manifest.files) {
      expect(got.get(f.path)?.length, f.path).toBe(f.size);
      expect(sha(got.get(f.path)!), f.path).toBe(f.sha256);
    }
    const readme = got.get('README.txt')!.toString('utf8');
    expect(readme).toContain(result.bundleId);
    expect(readme).toMatch(/Privacy/);

    const skip = missing('unzip');
    if (skip) console.warn(`unzip -t check skipped: ${skip}`);
    else {
      const t = unzipTest(result.path);
      expect(t.out).toContain('No errors detected');
      expect(t.code).toBe(0);
    }
    const skipPy = missing('python3');
    if (skipPy) console.warn(`python zipfile check skipped: ${skipPy}`);
    else {
      const py = pythonList(result.path);
      expect(py.bad).toBeNull();
      for (const f of manifest.files) expect(py.files[f.path], f.path).toBe(f.sha256);
      expect(Object.keys(py.files).sort()).toEqual([...got.keys()].sort());
    }
  });

  it('records a collector that throws or hangs and still completes', async () => {
    const result = await sample(tempDir('diag-coll'));
    const runs = Object.fromEntries(result.manifest.collectors.map((c) => [c.name, c]));
    expect(runs['network/routes4.txt']).toMatchObject({ exit: 'error', files: [] });
    expect(runs['network/routes4.txt']?.error).toContain('ip: command not found');
    expect(runs['network/dns.txt']).toMatchObject({ exit: 'timeout', files: [] });
    // What a hanging collector added before its timeout is kept, marked with the timeout.
    expect(runs['system/os.txt']).toMatchObject({ exit: 'timeout', files: ['system/kernel.txt'] });
    const kernel = result.manifest.files.find((f) => f.path === 'system/kernel.txt');
    expect(kernel).toMatchObject({ collector: 'system/os.txt', exit: 'timeout' });
    expect(result.manifest.files.find((f) => f.path === 'system/uname.txt')).toMatchObject({ exit: 3 });
    expect((await inspectBundle(result.path)).ok).toBe(true);
  });

  it('keeps the tail of a log over the per-file cap and stays under the total cap', async () => {
    const dir = tempDir('diag-cap');
    const lines = Array.from(
      { length: 20_000 },
      (_, i) => `line ${i} ${createHash('md5').update(`${i}`).digest('hex')}`,
    );
    const b = createBundle({ dir, toolVersion: '1', host: 'h1', totalCapBytes: 400 * 1024, fileCapBytes: 64 * 1024 });
    const log = (await b.add('agent/logs/agent.log', Readable.from(lines.map((l) => `${l}\n`)))) as ManifestFile;
    expect(log.truncated).toBe(true);
    expect(log.size).toBeLessThanOrEqual(64 * 1024);
    expect(log.original_size).toBe(lines.join('\n').length + 1);
    // Later files fill the total cap: what does not fit is skipped or cut, and recorded.
    for (let i = 0; i < 12; i++) await b.add(`system/blob${i}.txt`, lines.slice(i * 1000, i * 1000 + 1500).join('\n'));
    const result = await b.finish();
    expect(result.size).toBeLessThanOrEqual(400 * 1024);
    const m = result.manifest;
    expect(
      m.skipped.some((s) => s.reason === 'total-cap') ||
        m.files.some((f) => f.path.startsWith('system/') && f.truncated),
    ).toBe(true);
    const kept = (await entries(result.path)).get('agent/logs/agent.log')!.toString('utf8');
    expect(kept.endsWith(`${lines.at(-1)}\n`)).toBe(true);
    expect(kept).not.toContain(`${lines[0]}\n`);
    // The cut starts on a line of its own.
    expect(lines).toContain(kept.split('\n')[0]);
    expect((await inspectBundle(result.path)).ok).toBe(true);
  });

  it('refuses binary input (a PKCS#12 file, a DER key) and records why', async () => {
    const b = createBundle({ dir: tempDir('diag-bin'), toolVersion: '1', host: 'h' });
    const skipped = await b.add('certificates/user.p12', Buffer.from([0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03]));
    expect(skipped).toMatchObject({ reason: 'refused' });
    const result = await b.finish();
    expect(result.manifest.skipped).toHaveLength(1);
    expect((await entries(result.path)).has('certificates/user.p12')).toBe(false);
  });

  it('never replaces an existing file and refuses paths outside the bundle', async () => {
    const dir = tempDir('diag-out');
    const out = join(dir, 'taken.zip');
    writeFileSync(out, 'mine');
    expect(() => createBundle({ out, toolVersion: '1' })).toThrow(/already exists/);
    expect(() => createBundle({ dir: join(dir, 'no/such/dir'), toolVersion: '1' })).toThrow(/cannot write in/);
    const b = createBundle({ out: join(dir, 'b.zip'), toolVersion: '1' });
    for (const bad of ['../x', '/etc/passwd', 'a//b', 'manifest.json', 'a b'])
      await expect(b.add(bad, 'x')).rejects.toSatisfy((e) => isTandemError(e, ErrorCodes.DIAG_ARCHIVE));
    await b.finish();
    expect(readFileSync(out, 'utf8')).toBe('mine');
  });

  it('writes the redaction map next to the archive, owner-only', async () => {
    const result = await sample(tempDir('diag-map'));
    const path = writeRedactionMap(result.path, result.redactionMap);
    expect(path).toBe(result.path.replace(/\.zip$/, '.redaction-map.json'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const map = JSON.parse(readFileSync(path, 'utf8')) as { tokens: { host: Record<string, string> } };
    expect(map.tokens.host['testhost']).toBe(result.manifest.host);
    expect((await entries(result.path)).has('redaction-map.json')).toBe(false);
  });
});

describe('bundle id', () => {
  it('shows 8 Crockford digits of a 128-bit id', () => {
    const id = newBundleId(Buffer.alloc(16, 0xff));
    expect(id.full).toHaveLength(26);
    expect(id.full).toBe('7ZZZZZZZZZZZZZZZZZZZZZZZZZ');
    expect(id.short).toBe('DIAG-7ZZZ-ZZZZ');
    expect(newBundleId().short).not.toBe(newBundleId().short);
  });
});

describe('inspectBundle', () => {
  it('finds a changed, a missing and an extra file', async () => {
    const dir = tempDir('diag-inspect');
    const result = await sample(dir);
    const clean = await inspectBundle(result.path);
    expect(clean).toMatchObject({ ok: true, problems: [] });
    expect(clean.summary).toContain('user tunnel: connected');
    expect(clean.verified).toBe(result.manifest.files.length);
    expect(mismatchError(clean)).toBeNull();

    const changed = join(dir, 'changed.zip');
    await rewrite(result.path, changed, (e) => e.set('agent/state.json', Buffer.from('{"user":"edited"}')));
    const gone = join(dir, 'missing.zip');
    await rewrite(result.path, gone, (e) => e.delete('agent/logs/agent.log'));
    const extra = join(dir, 'extra.zip');
    await rewrite(result.path, extra, (e) => e.set('agent/notes.txt', Buffer.from('added later')));

    const reports = await Promise.all([changed, gone, extra].map((f) => inspectBundle(f)));
    expect(reports.map((r) => r.problems.map((p) => [p.kind, p.path]))).toEqual([
      [['changed', 'agent/state.json']],
      [['missing', 'agent/logs/agent.log']],
      [['extra', 'agent/notes.txt']],
    ]);
    const err = mismatchError(reports[0]!);
    expect(isTandemError(err, ErrorCodes.DIAG_MISMATCH)).toBe(true);
    expect(err?.details['bundle_id']).toBe(result.bundleId);
  });

  it('refuses a file that is not a bundle with E_DIAG_ARCHIVE', async () => {
    const dir = tempDir('diag-notzip');
    const junk = join(dir, 'junk.zip');
    writeFileSync(junk, 'not a zip at all');
    await expect(inspectBundle(junk)).rejects.toSatisfy((e) => isTandemError(e, ErrorCodes.DIAG_ARCHIVE));
    const noManifest = join(dir, 'nomanifest.zip');
    const result = await sample(dir);
    await rewrite(result.path, noManifest, (e) => e.delete('manifest.json'));
    await expect(inspectBundle(noManifest)).rejects.toThrow(/no manifest/);
    expect(existsSync(result.path)).toBe(true);
  });
});
