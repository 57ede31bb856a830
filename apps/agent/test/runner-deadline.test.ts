/**
 * One authentication, the user's signing included, is bounded: a user whose certificate signer
 * never answers the MCA challenge cannot hold the user tunnel (the agent has one) in
 * "connecting" for longer than the auth deadline. Against a scripted TLS gateway that sends an
 * MCA challenge; the runner is the real one.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, nullLogger, REDACTED, redactor } from '@tandem/common';
import { defaultClientInitialization } from '@tandem/profile';
import { COMPLETE_XML, fakeGateways, httpResponse } from '@tandem/testkit';
import { RealConnectionRunner } from '../src/adapters/connection-runner.js';
import type { RunnerAuthRequest } from '../src/adapters/driver.js';

const CHALLENGE =
  '<?xml version="1.0" encoding="UTF-8"?>\n<config-auth client="vpn" type="auth-request" aggregate-auth-version="2"><opaque is-for="sg"><aggauth-handle>7</aggauth-handle></opaque><multiple-client-cert-request><hash-algorithm>sha256</hash-algorithm></multiple-client-cert-request><random>AB</random><cert-authenticated></cert-authenticated></config-auth>';

const gateways = fakeGateways('tac-runner-deadline');

/** The real runner, trusting the lab CA and resolving vpn.lab.test to loopback. */
function runnerFor(extra: { authDeadlineMs?: number } = {}): RealConnectionRunner {
  return new RealConnectionRunner({
    journalDir: '/nonexistent',
    gatewayCa: gateways.lab().caBundle,
    resolve: new Map([['vpn.lab.test', '127.0.0.1']]),
    log: nullLogger,
    ...extra,
  });
}

/** A user-tunnel request to the scripted gateway on `port`, with the machine certificate. */
function userRequest(port: number, over: Partial<RunnerAuthRequest>): RunnerAuthRequest {
  const lab = gateways.lab();
  return {
    kind: 'user',
    url: `https://vpn.lab.test:${port}/`,
    reason: 'initial',
    signal: new AbortController().signal,
    profile: defaultClientInitialization(),
    host: null,
    profileFile: null,
    allowedHosts: [],
    strictServerTrust: false,
    machineCredentials: { cert: lab.machine.certPem, key: lab.machine.keyPem },
    user: null,
    prompt: null,
    ...over,
  };
}

describe('auth deadline of the agent runner', () => {
  it('a signer that never answers releases the attempt at the deadline with E_GATEWAY_TIMEOUT', async () => {
    const g = await gateways.gw(
      (_req, s) => void s.write(httpResponse('200 OK', ['Content-Type: text/xml'], CHALLENGE)),
      {
        requestCert: true,
      },
    );
    let asked = 0;
    const runner = runnerFor({ authDeadlineMs: 600 });
    const request = userRequest(g.port, {
      // The user's process was asked and never answers.
      user: () => {
        asked++;
        return new Promise(() => {});
      },
    });
    const t0 = performance.now();
    await expect(runner.authenticate(request)).rejects.toMatchObject({
      code: ErrorCodes.GATEWAY_TIMEOUT,
      message: expect.stringMatching(/did not finish within 1 s/),
    });
    const ms = performance.now() - t0;
    expect(asked).toBe(1);
    // Released at the deadline, not after the reverse request's own timeout (120 s).
    expect(ms).toBeGreaterThanOrEqual(550);
    expect(ms).toBeLessThan(10_000);
  });

  it('an owner or admin cancelling (the engine aborts) ends the attempt at once', async () => {
    const g = await gateways.gw(
      (_req, s) => void s.write(httpResponse('200 OK', ['Content-Type: text/xml'], CHALLENGE)),
      {
        requestCert: true,
      },
    );
    const cancel = new AbortController();
    const attempt = runnerFor().authenticate(
      userRequest(g.port, {
        signal: cancel.signal,
        user: () => {
          cancel.abort();
          return new Promise(() => {});
        },
      }),
    );
    await expect(attempt).rejects.toMatchObject({ code: ErrorCodes.GATEWAY_UNREACHABLE, message: 'cancelled' });
  });

  it("a user's form password is masked during that attempt only, then forgotten by the redactor", async () => {
    const PASSWORD_FORM =
      '<?xml version="1.0" encoding="UTF-8"?>\n<config-auth client="vpn" type="auth-request"><auth id="main"><form method="post" action="/auth"><input type="password" name="password" label="Password:"/></form></auth></config-auth>';
    const secret = 'correct-horse-battery-staple';
    let maskedDuringAttempt: string | null = null;
    const g = await gateways.gw((req, s, i) => {
      if (i === 0) return void s.write(httpResponse('200 OK', ['Content-Type: text/xml'], PASSWORD_FORM));
      maskedDuringAttempt = redactor.string(`password is ${secret}`);
      expect(req.body.toString()).toContain(secret);
      s.write(
        httpResponse('200 OK', ['Content-Type: text/xml', 'Set-Cookie: webvpn=FORM-COOKIE-123; Secure'], COMPLETE_XML),
      );
    });
    const session = await runnerFor().authenticate(
      userRequest(g.port, { prompt: async () => ({ cancelled: false, answer: secret }) }),
    );
    expect(session.cookie).toBe('FORM-COOKIE-123');
    expect(maskedDuringAttempt).toBe(`password is ${REDACTED}`);
    expect(redactor.string(`password is ${secret}`)).toBe(`password is ${secret}`);
  });

  it('a login banner nobody answers ends the attempt at the deadline with E_BANNER_DECLINED; Decline at once', async () => {
    const complete = (_req: unknown, sock: { write(b: Buffer | string): unknown }) =>
      void sock.write(
        httpResponse('200 OK', ['Content-Type: text/xml', 'Set-Cookie: webvpn=BANNER-COOKIE-1; Secure'], COMPLETE_XML),
      );
    const g = await gateways.gw(complete);
    const asked: unknown[] = [];
    const t0 = performance.now();
    await expect(
      runnerFor({ authDeadlineMs: 600 }).authenticate(
        userRequest(g.port, {
          prompt: (q) => {
            asked.push(q);
            return new Promise(() => {});
          },
        }),
      ),
    ).rejects.toMatchObject({
      code: ErrorCodes.BANNER_DECLINED,
      message: expect.stringMatching(/not accepted within 1 s/),
    });
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(asked).toEqual([{ kind: 'banner', title: 'VPN login banner', message: 'Lab' }]);

    const declined = await gateways.gw(complete);
    await expect(
      runnerFor().authenticate(userRequest(declined.port, { prompt: async () => ({ cancelled: true }) })),
    ).rejects.toMatchObject({ code: ErrorCodes.BANNER_DECLINED });
    const failing = await gateways.gw(complete);
    await expect(
      runnerFor().authenticate(
        userRequest(failing.port, {
          // What a 1.4 client answers for the unknown kind.
          prompt: () => Promise.reject(Object.assign(new Error('invalid params'), { code: ErrorCodes.IPC_PARAMS })),
        }),
      ),
    ).rejects.toMatchObject({ code: ErrorCodes.BANNER_DECLINED });
  });

  it('the machine tunnel (no user to ask) accepts the banner; a re-authentication does not ask again', async () => {
    const g = await gateways.gw(
      (_req, sock) =>
        void sock.write(
          httpResponse(
            '200 OK',
            ['Content-Type: text/xml', 'Set-Cookie: webvpn=BANNER-COOKIE-2; Secure'],
            COMPLETE_XML,
          ),
        ),
    );
    const runner = runnerFor();
    expect((await runner.authenticate(userRequest(g.port, { kind: 'machine' }))).cookie).toBe('BANNER-COOKIE-2');
    let asked = 0;
    const reauth = await runner.authenticate(
      userRequest(g.port, {
        reason: 'reauth',
        prompt: async () => {
          asked++;
          return { cancelled: true };
        },
      }),
    );
    expect(reauth.cookie).toBe('BANNER-COOKIE-2');
    expect(asked).toBe(0);
  });
});
