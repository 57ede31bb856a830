/**
 * @tandem/connection — one VPN connection end to end (protocol + TUN + network configuration),
 * used by `tandem connect --foreground` and by the agent's tunnel driver.
 */
export * from './config-map.js';
export * from './datapath.js';
export * from './gateway-ip.js';
export * from './runner.js';
