/**
 * `tandem diag inspect` through the CLI dispatcher: an intact bundle (exit 0, the manifest's
 * facts and summary.txt), its JSON form, a tampered copy (exit 1, E_DIAG_MISMATCH naming the
 * file), a file that is not a bundle (exit 1, E_DIAG_ARCHIVE), and the command line (exit 2).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBundle } from '@tandem/diagnostics';
import { tempDir } from '@tandem/testkit';
import { main } from '../src/cli.js';
import { ZipFile } from 'yazl';
import yauzl from 'yauzl';
import { createWriteStream } from 'node:fs';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** Copies `src` to `dst` with one entry's bytes replaced. */
function tamper(src: string, dst: string, name: string, data: Buffer): Promise<void> {
  return new Promise((res, rej) => {
    const zip = new ZipFile();
    const out = createWriteStream(dst);
    zip.outputStream.pipe(out);
    out.on('close', () => res());
    yauzl.open(src, { lazyEntries: true }, (err, inz) => {
      if (err) return rej(err);
      inz.on('end', () => zip.end());
      inz.on('entry', (e: yauzl.Entry) =>
        inz.openReadStream(e, (e2, s) => {
          if (e2) return rej(e2);
          const parts: Buffer[] = [];
          s.on('data', (c: Buffer) => parts.push(c));
          s.on('end', () => {
            zip.addBuffer(e.fileName === name ? data : Buffer.concat(parts), e.fileName);
            inz.readEntry();
          });
        }),
      );
      inz.readEntry();
    });
  });
}

let dir: string;
let bundle: string;
let bundleId: string;

beforeAll(async () => {
  dir = tempDir('cli-diag');
  const b = createBundle({ dir, toolVersion: '0.1.0', host: 'inspect-host' });
  await b.add('summary.txt', 'Tandem 0.1.0\nuser tunnel: connected to gw \u001b[31mred\u001b[0m\n');
  await b.add('agent/state.json', '{"user":{"state":"connected"}}');
  await b.addCollector('network/routes4.txt', async () => {
    throw new Error('no ip');
  });
  const r = await b.finish();
  bundle = r.path;
  bundleId = r.bundleId;
});

describe('tandem diag inspect', () => {
  it('checks an intact bundle and prints its facts and summary', async () => {
    const r = await cli('diag', 'inspect', bundle);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Bundle ${bundleId}`);
    expect(r.out).toMatch(/files: +3 of 3 verified/);
    expect(r.out).toContain('collector:  network/routes4.txt error');
    expect(r.out).toContain('--- summary.txt ---\nTandem 0.1.0\nuser tunnel: connected');
    // Escape sequences from someone else's bundle are shown, not sent to the terminal.
    expect(r.out).toContain('\\x1b[31mred');
    expect(r.out).not.toContain('\u001b');
  });

  it('answers in JSON', async () => {
    const r = await cli('diag', 'inspect', bundle, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { ok: boolean; bundle_id: string; verified: number; summary: string };
    expect(j).toMatchObject({ ok: true, bundle_id: bundleId, verified: 3 });
    expect(j.summary).toContain('user tunnel');
  });

  it('exits 1 with E_DIAG_MISMATCH for a changed file', async () => {
    const changed = join(dir, 'changed.zip');
    await tamper(bundle, changed, 'agent/state.json', Buffer.from('{"user":{"state":"idle"}}'));
    const r = await cli('diag', 'inspect', changed);
    expect(r.code).toBe(1);
    expect(r.out).toContain('MISMATCH:   changed agent/state.json');
    expect(r.err).toMatch(/^tandem diag inspect: E_DIAG_MISMATCH: .*changed agent\/state\.json/);
    const j = await cli('diag', 'inspect', changed, '--json');
    expect(j.code).toBe(1);
    expect(JSON.parse(j.out)).toMatchObject({ ok: false, error: { code: 'E_DIAG_MISMATCH' } });
  });

  it('exits 1 with E_DIAG_ARCHIVE for a file that is not a bundle, 2 without a file', async () => {
    const junk = join(dir, 'junk.zip');
    writeFileSync(junk, 'hello');
    const r = await cli('diag', 'inspect', junk);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^tandem diag inspect: E_DIAG_ARCHIVE: /);
    expect((await cli('diag', 'inspect')).code).toBe(2);
    expect((await cli('diag', 'inspect', 'a', 'b')).code).toBe(2);
  });
});
