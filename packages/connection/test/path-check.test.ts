import { describe, expect, it } from 'vitest';
import { parseRouteGet } from '@tandem/tunnel';
import { judgePath } from '../src/path-check.js';

const facts = { gatewayIp: '192.0.2.10', tunDevice: 'tandem0', localAddress: '10.1.0.2' };

describe('the path to the gateway after a network change', () => {
  it('stands while the route leaves from the transport’s own address', () => {
    expect(judgePath(facts, { dev: 'eth0', src: '10.1.0.2', via: '10.1.0.1' })).toEqual({ moved: false });
    expect(judgePath({ ...facts, localAddress: '::ffff:10.1.0.2' }, { dev: 'eth0', src: '10.1.0.2' })).toEqual({
      moved: false,
    });
  });

  it('moved when the route now leaves from another address (another uplink)', () => {
    const v = judgePath(facts, { dev: 'wlan0', src: '10.2.0.2', via: '10.2.0.1' });
    expect(v).toEqual({ moved: true, reason: 'the path to the gateway moved from 10.1.0.2 to 10.2.0.2 (wlan0)' });
  });

  it('moved when the gateway would be reached through the tunnel itself, or not at all', () => {
    expect(judgePath(facts, { dev: 'tandem0', src: '10.8.0.5' })).toMatchObject({ moved: true });
    expect(judgePath(facts, null)).toEqual({ moved: true, reason: 'no route to the gateway 192.0.2.10' });
  });

  it('reads `ip -j route get` output and refuses anything else', () => {
    const out = '[{"dst":"192.0.2.10","gateway":"10.1.0.1","dev":"eth0","prefsrc":"10.1.0.2","flags":[],"uid":0}]';
    expect(parseRouteGet(out)).toEqual({ dev: 'eth0', src: '10.1.0.2', via: '10.1.0.1' });
    expect(parseRouteGet('[{"dst":"10.1.0.9","dev":"eth0","prefsrc":"10.1.0.2"}]')).toEqual({
      dev: 'eth0',
      src: '10.1.0.2',
    });
    for (const bad of ['', 'RTNETLINK answers: Network is unreachable', '{}', '[]', '[{"dev":5}]'])
      expect(parseRouteGet(bad)).toBeNull();
  });
});
