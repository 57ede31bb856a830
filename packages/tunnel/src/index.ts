/**
 * @tandem/tunnel — the host side of a tunnel: the TUN device (packet I/O), applying the pushed
 * network configuration (vpnc-script on Linux; behind the HostNetwork seam, the IP Helper API
 * and NRPT on Windows, route and scutil on macOS), and the journal that lets a clean disconnect
 * or a post-crash recover() put routes and DNS back exactly as they were. The Windows and macOS
 * modules are not exported here: selectHostNetwork() loads them on those platforms only.
 */
export * from './device.js';
export * from './tun-open.js';
export * from './tun-linux.js';
export * from './tun-backend.js';
// The Windows and macOS devices are loaded by openTunDevice only; their types are free to export.
export type { WindowsTunOptions } from './tun-windows.js';
export type { DarwinTunOptions } from './tun-darwin.js';
export * from './packet.js';
export * from './network-config.js';
export * from './script-env.js';
export * from './configurator.js';
export * from './host-changes.js';
export * from './host-network.js';
export * from './host-network-linux.js';
export * from './host-network-select.js';
export * from './vpnc-script.js';
export * from './iproute.js';
export * from './resolv.js';
export * from './resolv-parse.js';
export * from './resolv-drift.js';
export * from './journal.js';
export * from './repair.js';
export * from './session.js';
export * from './recover.js';
export * from './failclosed.js';
export * from './state.js';
export { trimMalloc } from './libc.js';
export * from './network-watch.js';
