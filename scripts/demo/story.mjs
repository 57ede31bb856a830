/**
 * The full story, as root: namespaces, demo PKI, two lab gateways with TUNs, a private tandemd
 * in the laptop namespace, then machine tunnel at start → `tandem connect` as an unprivileged
 * user (MCA) → `tandem disconnect` → machine tunnel back, with timings and handover gaps.
 * A step that cannot be done fails with the reason; nothing is ever pretended.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describeLines, handover, startAgent, startWatch, stateOf, statusJson, waitTunnel } from './agent.mjs';
import * as lab from './lab.mjs';
import { fail, ok, output, say, section, timed, warn } from './narrate.mjs';
import { makeDemoPki, MGMT_NAME, SERVER_NAME } from './pki.mjs';
import { onCleanup, removeLater, until } from './proc.mjs';
import { USER_HOST, writeMachineProfile, writeUserProfile, TRUSTED_DOMAIN } from './profiles.mjs';
import { startGateway, tandem } from './tools.mjs';
import { gatewayEvents, gatewayPort } from './unprivileged.mjs';

/** The unprivileged "alice" of the demo: nobody/nogroup, so no account is created on the host. */
const ALICE = { uid: 65534, gid: 65534 };

/** Sets up files, PKI and profiles; returns the paths the rest of the story uses. */
async function prepare() {
  // Under /run, not /tmp: tandemd refuses profiles below a directory others can write (/tmp is 1777).
  const dir = mkdtempSync('/run/tandem-demo-');
  removeLater(dir);
  // Traversable by alice (her store and the agent socket live below); every secret sits in a 0700 subdir.
  chmodSync(dir, 0o755);
  const p = {
    dir,
    pki: join(dir, 'pki'),
    machineStore: join(dir, 'machine-store'),
    userStore: join(dir, 'alice-store'),
    profiles: join(dir, 'profiles'),
    state: join(dir, 'state'),
    run: join(dir, 'run'),
  };
  p.socket = join(p.run, 'tandemd.sock');
  mkdirSync(p.pki, { mode: 0o700 });
  for (const d of [p.profiles, join(p.profiles, 'mgmttun'), p.state, p.run]) mkdirSync(d, { mode: 0o755 });
  const { value: pki, ms } = await timed(() =>
    makeDemoPki(p.pki, {
      machineStore: p.machineStore,
      userStore: p.userStore,
      userUid: ALICE.uid,
      userGid: ALICE.gid,
    }),
  );
  p.ca = pki;
  ok(
    `demo PKI in ${ms} ms: Tandem Demo Root CA → Tandem Demo Issuing CA → ${SERVER_NAME}/${MGMT_NAME}, laptop-0042, alice (+ a decoy alice from "Home Router CA")`,
  );
  say(`machine store ${p.machineStore} (root, 0700); alice's store ${p.userStore} (uid ${ALICE.uid}, 0700)`);
  writeMachineProfile(join(p.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'));
  writeUserProfile(join(p.profiles, 'demo-mca.xml'));
  say(
    `profiles: mgmttun/VpnMgmtTunProfile.xml (→ ${MGMT_NAME}, TND trusted domain ${TRUSTED_DOMAIN}) and demo-mca.xml ("${USER_HOST}" → ${SERVER_NAME}, MCA)`,
  );
  chownSync(p.userStore, ALICE.uid, ALICE.gid);
  return p;
}

/** Starts both gateways in tdm-gw and waits until they listen. */
async function gateways(p) {
  const common = ['--cert', p.ca.serverCert, '--key', p.ca.serverKey, '--ca', p.ca.clientCas];
  const machine = startGateway(
    [
      '--listen',
      `${lab.MACHINE_GW}:443`,
      ...common,
      '--username-from',
      'first',
      '--pool',
      lab.MACHINE_POOL,
      '--tun',
      'tdmm0',
    ],
    { netns: lab.GW, name: 'machine gateway' },
  );
  const user = startGateway(
    [
      '--listen',
      `${lab.USER_GW}:443`,
      ...common,
      '--mca',
      '--username-from',
      'second',
      '--pool',
      lab.USER_POOL,
      '--tun',
      'tdmu0',
    ],
    { netns: lab.GW, name: 'MCA gateway' },
  );
  await Promise.all([gatewayPort(machine), gatewayPort(user)]);
  ok(
    `machine gateway ${MGMT_NAME} = ${lab.MACHINE_GW}:443 (certificate only, user from the 1st certificate, pool ${lab.MACHINE_POOL}, TUN tdmm0)`,
  );
  ok(
    `MCA gateway ${SERVER_NAME} = ${lab.USER_GW}:443 (--mca, user from the 2nd certificate, pool ${lab.USER_POOL}, TUN tdmu0)`,
  );
  return { machine, user };
}

/** Shows `tandem status`, the laptop's tunnel interfaces and a ping; false if the ping fails. */
async function showTunnel(p, target, label) {
  await tandem(['status', '--socket', p.socket]);
  say(`tunnel interfaces in ${lab.PC}: ${(await lab.laptopTunnels()).join(', ') || '(none)'}`);
  const rtt = await lab.ping(target);
  if (!rtt) {
    fail(`ping ${target} (${label}) from ${lab.PC}: no reply`);
    return false;
  }
  ok(`ping ${target} (${label}) from ${lab.PC}: reply in ${rtt}`);
  return true;
}

/** Runs the story; resolves true when every step succeeded. */
export async function rootStory() {
  const before = await lab.hostState();
  // Registered first, so it runs last: after everything else is gone, prove the host is untouched.
  onCleanup('check the host', async () => {
    const left = await lab.demoNamespaces();
    if (left.length > 0) throw new Error(`namespaces left behind: ${left.join(', ')}`);
    if ((await lab.hostState()) !== before) throw new Error("the host's routes or /etc/resolv.conf changed");
    ok('no tdm-* namespace left; host routes and /etc/resolv.conf identical to before the demo');
  });

  section('Step 2: the lab — namespaces tdm-gw / tdm-pc, demo PKI, two lab gateways');
  const p = await prepare();
  await lab.createNetwork();
  ok(
    `${lab.PC} ${lab.PC_ADDR}/24 ── veth ── ${lab.GW} ${lab.MACHINE_GW}, ${lab.USER_GW}; laptop resolv.conf says "search demo.test" (untrusted)`,
  );
  const gw = await gateways(p);

  section('Step 3: the agent starts → machine tunnel up with no user action');
  const agentStart = performance.now();
  const agent = await startAgent(lab.PC, {
    socket: p.socket,
    profiles: p.profiles,
    machineStore: p.machineStore,
    state: p.state,
    gatewayCa: p.ca.rootCa,
    resolve: [`${MGMT_NAME}:${lab.MACHINE_GW}`, `${SERVER_NAME}:${lab.USER_GW}`],
  });
  say(`tandemd --foreground --socket ${p.socket} … running in ${lab.PC} (pid ${agent.child.pid})`);
  const watch = startWatch(p.socket);
  try {
    await waitTunnel(p.socket, 'machine', 'connected', 20_000);
  } catch (err) {
    fail(`${err.message}`);
    output(agent.stderr.split('\n').slice(-15).join('\n'));
    return false;
  }
  ok(
    `machine tunnel connected ${Math.round(performance.now() - agentStart)} ms after tandemd started — nobody asked for it`,
  );
  const mSession = gatewayEvents(gw.machine, 'session')[0];
  if (mSession) output(JSON.stringify(mSession));
  if (!(await showTunnel(p, lab.MACHINE_TUN_GW, 'machine gateway, through the machine tunnel'))) return false;

  section(
    `Step 4: alice (uid ${ALICE.uid}) runs \`tandem connect "${USER_HOST}"\` → machine tunnel down, user tunnel up with MCA`,
  );
  const connectAt = watch.now();
  const { value: conn, ms: connectMs } = await timed(() =>
    tandem(['connect', USER_HOST, '--socket', p.socket, '--user-store', p.userStore], {
      ...ALICE,
      who: 'alice$',
      env: { PATH: process.env.PATH, HOME: p.userStore, LANG: 'C.UTF-8' },
      timeoutMs: 45_000,
    }),
  );
  const uSession = await until('the MCA gateway session line', () => gatewayEvents(gw.user, 'session')[0], 2000).catch(
    () => null,
  );
  if (conn.code !== 0 || !uSession) {
    for (const e of gatewayEvents(gw.user, 'auth-failed')) output(`MCA gateway: ${JSON.stringify(e)}`);
    fail(
      `the user tunnel did not come up with MCA (tandem connect exit ${conn.code}, after ${connectMs} ms; gateway session line: ${uSession ? 'yes' : 'none'}).`,
    );
    // The gateway says why: no MCA offer at all, or a challenge that was never answered.
    const noMca = gatewayEvents(gw.user, 'auth-failed').some((e) => /multiple-cert/i.test(String(e.reason)));
    if (noMca || (gatewayEvents(gw.user, 'challenge').length > 0 && !uSession)) {
      fail(
        'This tandemd did not offer MCA for the user tunnel: agents before API 1.1 (certs.list without the certificate DER) cannot put the user certificate into the MCA reply. The demo stops here instead of pretending.',
      );
    }
    const st = await statusJson(p.socket);
    say(`agent now: machine=${stateOf(st, 'machine')} user=${stateOf(st, 'user')}`);
    return false;
  }
  ok(`tandem connect returned after ${connectMs} ms; the MCA gateway's session line:`);
  output(JSON.stringify(uSession));
  ok(`gateway names user "${uSession.username}" (from the second certificate; machine "${uSession.machine}")`);
  const st = await waitTunnel(p.socket, 'user', 'connected', 5000);
  if (stateOf(st, 'machine') !== 'idle') warn(`machine tunnel is ${stateOf(st, 'machine')}, expected idle`);
  else ok('machine tunnel is idle while the user tunnel runs (one tunnel at a time)');
  if (!(await showTunnel(p, lab.USER_TUN_GW, 'MCA gateway, through the user tunnel'))) return false;
  const toUser = handover(watch.seen, connectAt, 'machine', 'user');

  section('Step 5: alice runs `tandem disconnect` → machine tunnel back');
  const discAt = watch.now();
  const disc = await tandem(['disconnect', '--socket', p.socket], {
    ...ALICE,
    who: 'alice$',
    env: { PATH: process.env.PATH, HOME: p.userStore, LANG: 'C.UTF-8' },
  });
  if (disc.code !== 0) {
    fail(`tandem disconnect exit ${disc.code}`);
    return false;
  }
  await waitTunnel(p.socket, 'machine', 'connected', 20_000);
  ok(`machine tunnel connected again ${Math.round(watch.now() - discAt)} ms after \`tandem disconnect\``);
  if (!(await showTunnel(p, lab.MACHINE_TUN_GW, 'machine gateway, through the machine tunnel again'))) return false;
  await new Promise((r) => setTimeout(r, 100)); // the last watch line may trail the status poll
  const back = handover(watch.seen, discAt, 'user', 'machine');

  section('Step 6: handover timings, from `tandem watch --json` (lines stamped on arrival)');
  output(describeLines(watch.seen, 0));
  say(`machine → user: ${toUser.gapMs ?? '?'} ms without a tunnel (includes the user tunnel's MCA authentication)`);
  say(`user → machine: ${back.gapMs ?? '?'} ms without a tunnel`);
  if (back.overlap) {
    fail('a watch line showed both tunnels connected at once');
    return false;
  }
  ok('no watch line ever showed both tunnels connected');
  const { ms: stopMs } = await timed(async () => {
    agent.child.kill('SIGTERM');
    return agent.exited;
  });
  say(
    `tandemd stopped by SIGTERM in ${stopMs} ms (exit ${agent.child.exitCode ?? agent.child.signalCode}); tunnels in ${lab.PC}: ${(await lab.laptopTunnels()).join(', ') || 'none'}`,
  );
  return true;
}
