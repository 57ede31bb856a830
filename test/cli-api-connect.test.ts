/**
 * `tandem connect` as the user's certificate signer: the fake engine behind the real IPC server
 * asks the spawned CLI for its certificates (`certs.list`) and a signature over a nonce
 * (`certs.sign`), verifies the signature with the listed certificate's public key, and only
 * then reports `connected`. Also: failures with their stable cause, a prompt refused without a
 * terminal, and Ctrl-C disconnecting (exit 130).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, standardLab, tempDir, writePem, type Lab } from '@tandem/testkit';
import { ensureCliBuilt, FakeAgent, runCli, until } from './fixtures/cli/fake-agent.js';

let agent: FakeAgent;
let lab: Lab;
let userStore: string;
let emptyStore: string;
let aliceSha256: string;

beforeAll(async () => {
  ensureCliBuilt();
  lab = await standardLab('cli-api-connect');
  userStore = tempDir('cli-api-user');
  emptyStore = tempDir('cli-api-empty');
  writePem(userStore, 'alice', lab.user);
  // A second certificate with a key that the gateway does not trust: offered, but not picked.
  writePem(userStore, 'laptop', lab.machine);
  writeFileSync(join(userStore, 'README.txt'), 'not a certificate');
  agent = await FakeAgent.start();
  aliceSha256 = agent.trust(lab.user.certPem);
}, 120_000);
afterAll(async () => agent?.stop());
afterEach(async () => {
  agent.verifications.length = 0;
  await connectCli(['disconnect']).done;
});

function connectCli(args: string[]) {
  return runCli([...args, '--socket', agent.socketPath, ...(isRoot ? [] : ['--allow-non-root-agent'])]);
}

describe('tandem connect (MCA through the user-side signer)', () => {
  it('answers certs.list and certs.sign from the user store; the engine verifies the signature; exit 0 when connected', async () => {
    const r = await connectCli(['connect', 'Lab VPN', '--user-store', userStore]).done;
    expect(r.stderr).toContain('tandemd asked for your certificates (mca): offering 2');
    expect(r.stderr).toContain('signing for tandemd with CN=alice, OU=users, O=Tandem Lab (sha384)');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^User tunnel: connected to vpn\.lab\.test since \S+ \(10\.8\.0\.2\) \[uid \d+\]\n/);
    expect(r.stdout).toContain('DNS: 10.8.0.1');
    expect(agent.verifications).toEqual([{ sha256: aliceSha256, ok: true }]);
    const status = await connectCli(['status']).done;
    expect(status.stdout).toContain('Machine tunnel: disconnected');
    expect(status.stdout).toContain('Management Connection State: Disconnected (user tunnel active)');
    for (const text of [r.stdout, r.stderr]) expect(text).not.toContain('PRIVATE KEY');
  });

  it('--json by URL: one document with the connected tunnel', async () => {
    const r = await connectCli(['connect', 'https://vpn.lab.test/mca', '--user-store', userStore, '--json']).done;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({
      connected: true,
      tunnel: {
        tunnel: 'user',
        status: { state: 'connected', gateway: 'vpn.lab.test', addresses: { ipv4: '10.8.0.2' } },
      },
    });
    expect(agent.verifications).toEqual([{ sha256: aliceSha256, ok: true }]);
  });

  it('no usable certificate: exit 1 with the cause and its stable code', async () => {
    const human = await connectCli(['connect', '--user-store', emptyStore]).done;
    expect(human.code).toBe(1);
    expect(human.stderr).toContain('offering 0');
    expect(human.stderr).toMatch(
      /tandem connect: User tunnel: failed to connect to vpn\.lab\.test at \S+: E_CERT_NOT_FOUND \[mca\]: no acceptable user certificate among 0/,
    );
    const json = await connectCli(['connect', '--user-store', emptyStore, '--json']).done;
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: { code: 'E_CERT_NOT_FOUND', stage: 'mca' },
      tunnel: { status: { state: 'error' } },
    });
    expect(agent.verifications).toEqual([]);
  });

  it('a prompt without a terminal is answered "cancelled", so the attempt fails instead of hanging', async () => {
    const r = await connectCli(['connect', 'Lab Banner', '--user-store', userStore, '--json']).done;
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'E_AUTH_REJECTED', message: 'banner not accepted' } });
  });

  it('Ctrl-C while waiting asks the agent to disconnect and exits 130', async () => {
    const run = connectCli(['connect', 'Slow', '--user-store', userStore]);
    await until(() => run.stderr().includes('User tunnel: connecting to slow.lab.test'));
    const disconnectsBefore = agent.calls.filter((c) => c.method === 'disconnect').length;
    run.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('interrupted: asking tandemd to disconnect');
    expect(agent.calls.filter((c) => c.method === 'disconnect').length).toBe(disconnectsBefore + 1);
    expect(agent.snap.user.status.state).toBe('idle');
  });

  it('a passphrase variable that is not set is a usage error (exit 2), before the agent is asked', async () => {
    const before = agent.calls.filter((c) => c.method === 'connect').length;
    const r = await connectCli(['connect', '--user-store', userStore, '--passphrase-env', 'TANDEM_TEST_UNSET_VARIABLE'])
      .done;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('environment variable TANDEM_TEST_UNSET_VARIABLE is not set');
    expect(agent.calls.filter((c) => c.method === 'connect').length).toBe(before);
  });
});
