/**
 * The engine's `PortalProbe` port: one plain-HTTP GET to the first gateway (`http://HOST/`),
 * which a captive portal intercepts like any other port-80 request. An AnyConnect gateway either
 * does not listen on port 80 or redirects to itself over HTTPS; an answer that redirects
 * elsewhere, or serves a page, is a portal. Redirects are never followed, the body is read only
 * to its first bytes, and nothing the answer says is executed or stored beyond the portal's host
 * name, which is resolved to the addresses remediation opens.
 */
import { request, type IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import type { Logger } from '@tandem/common';
import type { PortalCheck, PortalProbe } from '@tandem/engine';
import { hostAddresses } from './host-addresses.js';

/** Options of {@link HttpPortalProbe}. */
export interface HttpPortalProbeOptions {
  /** The gateway URLs of the profiles, first the one to probe. */
  gateways: () => string[];
  /** `--resolve HOST:IP` overrides (host names lower-case). */
  resolve: ReadonlyMap<string, string>;
  log: Logger;
  timeoutMs?: number;
}

const MAX_BODY = 64 * 1024;

/** Classifies one answer; exported for tests. */
export function classifyAnswer(
  gatewayHost: string,
  status: number,
  location: string | undefined,
  contentType: string | undefined,
): { state: PortalCheck['state']; portalHost?: string; detail: string } {
  if (status >= 300 && status < 400 && location) {
    let target: URL;
    try {
      target = new URL(location, `http://${gatewayHost}/`);
    } catch {
      return { state: 'detected', detail: `HTTP ${status} to an unreadable location` };
    }
    const self = target.hostname.toLowerCase() === gatewayHost.toLowerCase() && target.protocol === 'https:';
    if (self) return { state: 'none', detail: `HTTP ${status} to the gateway over HTTPS` };
    return { state: 'detected', portalHost: target.hostname, detail: `HTTP ${status} to ${target.hostname}` };
  }
  if (status === 200 && /html/i.test(contentType ?? '')) {
    return { state: 'detected', detail: 'HTTP 200 with a page where the gateway serves none' };
  }
  return { state: 'none', detail: `HTTP ${status}` };
}

/** A captive-portal probe over plain HTTP to the first gateway. */
export class HttpPortalProbe implements PortalProbe {
  constructor(private readonly o: HttpPortalProbeOptions) {}

  /** See {@link PortalProbe.check}. */
  async check(signal: AbortSignal): Promise<PortalCheck> {
    const first = this.o.gateways()[0];
    if (!first) return { state: 'unknown', detail: 'no gateway to probe' };
    let host: string;
    try {
      host = new URL(first).hostname.replace(/^\[|\]$/g, '');
    } catch {
      return { state: 'unknown', detail: 'gateway URL unreadable' };
    }
    let answer: { res: IncomingMessage; remote: string | undefined };
    try {
      answer = await this.get(host, signal);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Nothing listens on port 80 of the gateway, and nothing intercepted the request.
      if (code === 'ECONNREFUSED') return { state: 'none', detail: 'gateway port 80 refused' };
      return { state: 'unknown', detail: `no HTTP answer: ${code ?? (err as Error).message}` };
    }
    const { res, remote } = answer;
    const location = typeof res.headers.location === 'string' ? res.headers.location.slice(0, 2048) : undefined;
    const verdict = classifyAnswer(host, res.statusCode ?? 0, location, res.headers['content-type']);
    res.destroy();
    if (verdict.state !== 'detected') return { state: verdict.state, detail: verdict.detail };
    const addresses = verdict.portalHost
      ? await hostAddresses(verdict.portalHost, this.o.resolve).catch(() => [])
      : remote
        ? [remote]
        : [];
    return { state: 'detected', addresses, detail: verdict.detail };
  }

  private get(host: string, signal: AbortSignal): Promise<{ res: IncomingMessage; remote: string | undefined }> {
    const override = this.o.resolve.get(host.toLowerCase());
    const pinned: LookupFunction | undefined = override
      ? (_name, opts, cb) => {
          const family = isIP(override);
          if ((opts as { all?: boolean }).all) cb(null, [{ address: override, family }]);
          else cb(null, override, family);
        }
      : undefined;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host,
          port: 80,
          path: '/',
          method: 'GET',
          headers: { 'user-agent': 'Tandem captive-portal probe', accept: 'text/html' },
          timeout: this.o.timeoutMs ?? 5000,
          signal,
          ...(pinned ? { lookup: pinned } : {}),
        },
        (res) => {
          let seen = 0;
          res.on('data', (c: Buffer) => {
            seen += c.length;
            if (seen > MAX_BODY) res.destroy();
          });
          res.on('error', () => {});
          resolve({ res, remote: res.socket.remoteAddress });
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end();
    });
  }
}
