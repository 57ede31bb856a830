/**
 * The Linux {@link HostNetwork}: today's code, unchanged behind the seam — vpnc-script applies the
 * configuration, `ip` and resolv.conf make the "before" snapshot, and `repairFromJournal`
 * verifies and repairs against it. Journals keep their existing format (no `host` field).
 */
import type { HostNetwork } from './host-network.js';
import { linkExists } from './iproute.js';
import { captureHostSnapshot } from './journal.js';
import { repairFromJournal } from './repair.js';
import { VpncScriptConfigurator } from './vpnc-script.js';

/** The Linux backend. */
export const linuxHostNetwork: HostNetwork = {
  platform: 'linux',
  followsResolvConf: true,
  configurator: (options = {}) => new VpncScriptConfigurator(options.script ? { script: options.script } : {}),
  captureSnapshot: (resolvConf) => captureHostSnapshot(resolvConf),
  repair: (record) => repairFromJournal(record),
  async waitForInterfaceGone(name, timeoutMs) {
    const deadline = performance.now() + timeoutMs;
    while ((await linkExists(name)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  },
};
