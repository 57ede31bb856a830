/**
 * The gateway's login banner (docs/protocol.md#login-banner). AnyConnect gateways send it in the
 * success document of aggregate auth (`<banner>`) and again as `X-CSTP-Banner` on CONNECT;
 * Secure Client shows it and continues only when the user accepts. A connection asks its
 * {@link AcceptBanner} once: for the auth banner before CONNECT, or — when only the CONNECT
 * answer carries one — before the tunnel device exists, so no packet flows before the answer.
 */
import { ErrorCodes, TandemError } from '@tandem/common';

/**
 * Asks whether the user accepts the banner; false (or a rejection) ends the attempt with
 * E_BANNER_DECLINED. Absent: the banner is only logged (machine tunnel, `tandem auth`).
 */
export type AcceptBanner = (banner: string) => Promise<boolean>;

/** Longest banner shown: the contract's prompt message (4,096 characters). */
export const BANNER_MAX_CHARS = 4096;

/**
 * The text to show for a banner as the gateway sent it: `X-CSTP-Banner` is %-encoded by
 * Cisco's gateways (openconnect decodes it too); XML text is already decoded. Capped, never
 * sanitised here — each UI makes it plain text its own way (the CLI strips control characters).
 */
export function bannerText(raw: string, percentEncoded: boolean): string {
  const text = percentEncoded
    ? raw.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    : raw;
  return text.trim().slice(0, BANNER_MAX_CHARS);
}

/** The error of a declined banner. */
export function bannerDeclined(): TandemError {
  return new TandemError(ErrorCodes.BANNER_DECLINED, 'the login banner was declined');
}

/** Asks `accept` and throws E_BANNER_DECLINED unless the answer is yes; a failed question declines too. */
export async function requireBannerAccepted(accept: AcceptBanner, text: string): Promise<void> {
  let yes: boolean;
  try {
    yes = await accept(text);
  } catch (err) {
    // A deadline's own error (E_BANNER_DECLINED "not accepted within …") is kept as it is.
    if (err instanceof TandemError && err.code === ErrorCodes.BANNER_DECLINED) throw err;
    throw new TandemError(ErrorCodes.BANNER_DECLINED, 'the login banner was not accepted', { cause: err });
  }
  if (!yes) throw bannerDeclined();
}
