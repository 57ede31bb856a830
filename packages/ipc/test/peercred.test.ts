/**
 * Real kernel peer credentials: an unprivileged child process (uid 65534) and this root process
 * call EVERY method of the contract; the outcome must match the permission table exactly.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import { METHOD_NAMES, contract, type MethodName } from '@tandem/contract';
import { createIpcServer, type IpcServer } from '@tandem/ipc/server';
import { VALID_PARAMS, fakeHandlers, isRoot, socketDir } from './fixtures.js';

type Decision = 'allow' | 'deny';
/** The permission table, written by hand: a new method without a decision fails the test. */
const TABLE: Record<MethodName, { root: Decision; nobody: Decision }> = {
  connect: { root: 'allow', nobody: 'allow' },
  'diagnostics.collect': { root: 'allow', nobody: 'allow' },
  'diagnostics.read': { root: 'allow', nobody: 'allow' },
  'diagnostics.record': { root: 'allow', nobody: 'allow' },
  disconnect: { root: 'allow', nobody: 'allow' },
  hello: { root: 'allow', nobody: 'allow' },
  hosts: { root: 'allow', nobody: 'allow' },
  'logs.tail': { root: 'allow', nobody: 'deny' },
  'machineTunnel.disable': { root: 'allow', nobody: 'deny' },
  'machineTunnel.enable': { root: 'allow', nobody: 'deny' },
  'machineTunnel.status': { root: 'allow', nobody: 'allow' },
  'signer.register': { root: 'allow', nobody: 'allow' },
  stats: { root: 'allow', nobody: 'allow' },
  status: { root: 'allow', nobody: 'allow' },
  watch: { root: 'allow', nobody: 'allow' },
};

/** Plain JS run by the child: hello, then every method; prints the responses as one JSON array. */
const CHILD = `
const net = require('node:net');
const [path, callsJson] = process.argv.slice(1);
const calls = JSON.parse(callsJson);
const s = net.createConnection({ path });
let buf = ''; const out = [];
s.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) !== -1) {
    const f = JSON.parse(buf.slice(0, i)); buf = buf.slice(i + 1);
    if ('id' in f) out.push(f);
    if (out.length === calls.length) { process.stdout.write(JSON.stringify({ uid: process.getuid(), out })); s.end(); }
  }
});
s.on('connect', () => { calls.forEach((c, i) => s.write(JSON.stringify({ id: i + 1, method: c[0], params: c[1] }) + '\\n')); });
s.on('error', (e) => { process.stderr.write(String(e)); process.exit(2); });
`;

interface Reply {
  id: number;
  result?: Record<string, unknown>;
  error?: { code: string };
}

function runChild(path: string, calls: Array<[string, unknown]>, uid: number): Promise<{ uid: number; out: Reply[] }> {
  return new Promise((resolve, reject) => {
    // argv0 mimics the agent's own name: identity must come from the kernel, never from argv/exe.
    const child = spawn(process.execPath, ['-e', CHILD, path, JSON.stringify(calls)], {
      uid,
      gid: uid,
      argv0: 'tandemd',
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: '/',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(stdout) as { uid: number; out: Reply[] })
        : reject(new Error(`child exit ${code}: ${stderr}`)),
    );
  });
}

describe.skipIf(!isRoot)('real SO_PEERCRED: every method as root and as uid 65534 (needs root to switch uid)', () => {
  const calls: Array<{ method: string; uid: number }> = [];
  let server: IpcServer;
  let path: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const tmp = await socketDir();
    path = tmp.path;
    cleanup = tmp.cleanup;
    server = createIpcServer({ socketPath: path, handlers: fakeHandlers(calls), agentVersion: 't' });
    await server.listen();
  });
  afterAll(async () => {
    await server.close();
    await cleanup();
  });

  it('the table covers exactly the methods of the contract', () => {
    expect(Object.keys(TABLE).sort()).toEqual(METHOD_NAMES);
    expect(Object.keys(VALID_PARAMS).sort()).toEqual(METHOD_NAMES);
    // Cross-check with the declared permissions: only admin methods are denied to a user.
    for (const m of METHOD_NAMES) expect(TABLE[m].nobody === 'deny').toBe(contract.methods[m].perm === 'admin');
  });

  for (const [who, uid] of [
    ['nobody', 65534],
    ['root', 0],
  ] as const) {
    it(`as ${who} (uid ${uid}) every method gets the decision of the table`, async () => {
      const order = METHOD_NAMES.filter((m) => m !== 'hello');
      const seq: Array<[string, unknown]> = [
        ['hello', VALID_PARAMS.hello],
        ...order.map((m) => [m, VALID_PARAMS[m]] as [string, unknown]),
      ];
      calls.length = 0;
      const { uid: childUid, out } = await runChild(path, seq, uid);
      expect(childUid).toBe(uid);
      const hello = out.find((r) => r.id === 1)!;
      expect(hello.result?.uid).toBe(uid); // the server saw the kernel's uid
      expect(hello.result?.permissions).toEqual(uid === 0 ? ['read', 'control', 'admin'] : ['read', 'control']);
      const decided: Record<string, Decision> = { hello: hello.error ? 'deny' : 'allow' };
      order.forEach((m, i) => {
        const r = out.find((x) => x.id === i + 2)!;
        if (r.error) expect(r.error.code).toBe(ErrorCodes.PERMISSION);
        decided[m] = r.error ? 'deny' : 'allow';
      });
      const expected = Object.fromEntries(METHOD_NAMES.map((m) => [m, TABLE[m][who]]));
      expect(decided).toEqual(expected);
      // Denied methods never reached a handler; allowed ones ran with the kernel's uid.
      expect(calls.every((c) => c.uid === uid)).toBe(true);
      const reached = new Set(calls.map((c) => c.method));
      for (const m of order) if (m !== 'watch') expect(reached.has(m)).toBe(TABLE[m][who] === 'allow');
    });
  }
});
