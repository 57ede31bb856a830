import { describe, expect, it } from 'vitest';
import { classifyAnswer } from '../src/adapters/portal-probe.js';

describe('captive-portal answer classification', () => {
  it('a redirect elsewhere is a portal; the gateway redirecting to itself over HTTPS is not', () => {
    expect(classifyAnswer('vpn.example.com', 302, 'http://login.hotel.example/?u=1', undefined)).toEqual({
      state: 'detected',
      portalHost: 'login.hotel.example',
      detail: 'HTTP 302 to login.hotel.example',
    });
    expect(classifyAnswer('vpn.example.com', 301, 'https://vpn.example.com/', undefined).state).toBe('none');
    // Same host but plain HTTP is not what a gateway does.
    expect(classifyAnswer('vpn.example.com', 302, 'http://vpn.example.com/portal', undefined).state).toBe('detected');
    expect(classifyAnswer('vpn.example.com', 307, '/relative/login', undefined)).toMatchObject({
      state: 'detected',
      portalHost: 'vpn.example.com',
    });
  });

  it('a page in place of the gateway is a portal; other answers are not', () => {
    expect(classifyAnswer('vpn.example.com', 200, undefined, 'text/html; charset=utf-8').state).toBe('detected');
    expect(classifyAnswer('vpn.example.com', 200, undefined, 'application/json').state).toBe('none');
    expect(classifyAnswer('vpn.example.com', 404, undefined, 'text/html').state).toBe('none');
    expect(classifyAnswer('vpn.example.com', 302, undefined, undefined).state).toBe('none');
  });
});
