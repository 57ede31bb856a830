/**
 * The part of the story that needs no root: which certificate the MCA profile picks from
 * alice's store (and why the other is rejected), then `tandem auth` with Multiple Certificate
 * Authentication against the lab gateway on 127.0.0.1 in `--echo` mode (no TUN, no routes).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fail, ok, output, say, section, timed } from './narrate.mjs';
import { makeDemoPki, SERVER_NAME } from './pki.mjs';
import { jsonLines, removeLater, until } from './proc.mjs';
import { writeUserProfile } from './profiles.mjs';
import { startGateway, tandem } from './tools.mjs';

/** Events of the lab gateway named `event`, parsed from its stdout so far. */
export function gatewayEvents(gw, event) {
  return jsonLines(gw.stdout).filter((e) => e.event === event);
}

/**
 * Waits for the gateway's `listening` event and returns its port; fails early with the
 * gateway's stderr if it exits first.
 */
export async function gatewayPort(gw) {
  const ev = await until(
    'the lab gateway to listen',
    () => {
      if (gw.child.exitCode !== null) throw new Error(`lab gateway exited ${gw.child.exitCode}: ${gw.stderr.trim()}`);
      return gatewayEvents(gw, 'listening')[0];
    },
    10_000,
  );
  return ev.port;
}

/**
 * Runs the no-root steps. Returns false when a step failed (the caller sets the exit code).
 * @param {{ explainRoot: boolean }} opts explainRoot: say what the full story needs first
 */
export async function unprivilegedStory(opts) {
  if (opts.explainRoot) {
    section('Without root: the steps that need no privileges');
    say('The full story (machine tunnel at agent start, handover to the user tunnel with MCA and back)');
    say('needs root: it creates network namespaces (tdm-gw, tdm-pc), TUN devices and a private tandemd.');
    say('Run it as root: `sudo npm run demo`. What follows runs as this user only.');
  }

  section('Step 2: a demo PKI and certificate stores');
  const dir = mkdtempSync(join(tmpdir(), 'tandem-demo-'));
  removeLater(dir);
  const machineStore = join(dir, 'machine-store');
  const userStore = join(dir, 'alice-store');
  const uid = process.getuid?.() ?? 0;
  const { value: pki, ms } = await timed(() =>
    makeDemoPki(join(dir), { machineStore, userStore, userUid: uid, userGid: process.getgid?.() ?? 0 }),
  );
  ok(
    `Root CA → Tandem Demo Issuing CA → ${SERVER_NAME}, laptop-0042 (machine), alice (user); plus alice from "Home Router CA" (${ms} ms)`,
  );
  say('Without root the machine store cannot be root-owned, so `tandem auth` below is told --insecure-machine-store.');
  const profile = join(dir, 'demo-mca.xml');
  writeUserProfile(profile);

  section('Step 3: which user certificate does the MCA profile choose, and why?');
  const select = await tandem([
    'certs',
    'select',
    '--profile',
    profile,
    '--tunnel',
    'user',
    '--store',
    'user',
    '--user-store',
    userStore,
  ]);
  if (select.code !== 0) {
    fail(`tandem certs select exited ${select.code}`);
    return false;
  }
  ok("certs select chose a certificate from alice's store (exit 0)");

  section('Step 4: tandem auth with Multiple Certificate Authentication against the lab gateway (127.0.0.1, --echo)');
  const gw = startGateway(
    [
      '--listen',
      '127.0.0.1:0',
      '--cert',
      pki.serverCert,
      '--key',
      pki.serverKey,
      '--ca',
      pki.clientCas,
      '--mca',
      '--username-from',
      'second',
      '--pool',
      '10.236.130.0/24',
      '--echo',
    ],
    { name: 'lab gateway (echo)' },
  );
  const port = await gatewayPort(gw);
  say(`tandem-lab-gateway --mca --username-from second --echo listening on 127.0.0.1:${port}`);
  const url = `https://${SERVER_NAME}:${port}/`;
  const auth = await tandem([
    'auth',
    url,
    '--resolve',
    `${SERVER_NAME}:127.0.0.1`,
    '--cafile',
    pki.rootCa,
    '--profile',
    profile,
    '--mca',
    '--machine-store',
    machineStore,
    '--insecure-machine-store',
    '--user-store',
    userStore,
  ]);
  const session = await until('the gateway session line', () => gatewayEvents(gw, 'session')[0], 3000).catch(
    () => null,
  );
  say("The gateway's session event (JSON line on its stdout):");
  output(session ? JSON.stringify(session) : '(none)');
  for (const e of gatewayEvents(gw, 'auth-failed')) output(JSON.stringify(e));
  if (auth.code !== 0 || !session) {
    fail(`tandem auth exited ${auth.code}${session ? '' : ' and the gateway reported no session'}`);
    return false;
  }
  ok(`MCA session for user "${session.username}" (from the second certificate), machine "${session.machine}"`);
  return true;
}
