/**
 * Reads the fields a DTLS server needs to route a first datagram, straight from the bytes, before
 * any state exists for its sender. The input is whatever arrived on a public UDP port: every
 * length is checked against the datagram and the record, and anything unexpected yields null.
 *
 * Layout (DTLS 1.0 / 1.2 record holding the first fragment of a ClientHello):
 *   0  content type 22 (handshake)      13  handshake type 1 (client_hello)
 *   1  version 0xfe 0xff|0xfd            14  message length (3)
 *   3  epoch (2) = 0                     17  message sequence (2)
 *   5  sequence number (6)               19  fragment offset (3) = 0
 *  11  record length (2)                 22  fragment length (3)
 *  25  client_version (2), 27 random (32), 59 session id length, 60 the session id
 */

/** What a first datagram says about the handshake it starts. */
export interface ClientHelloInfo {
  /** The session id the client proposes: the App-ID under PSK-NEGOTIATE (1 to 32 bytes). */
  sessionId: Buffer;
  /** The client random: the same in a retransmitted ClientHello, new in a new handshake. */
  random: Buffer;
}

const RECORD_HEADER = 13;
const HANDSHAKE_HEADER = 12;
const CONTENT_HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const RANDOM_AT = RECORD_HEADER + HANDSHAKE_HEADER + 2;
const SESSION_ID_AT = RANDOM_AT + 32;
const MAX_SESSION_ID = 32;

/** True when the datagram at least claims to be an epoch-0 handshake record (a possible ClientHello). */
export function looksLikeHandshake(datagram: Uint8Array): boolean {
  return datagram.length >= RECORD_HEADER && datagram[0] === CONTENT_HANDSHAKE && datagram[1] === 0xfe;
}

/**
 * The session id and random of a DTLS ClientHello, or null when the datagram is not the first
 * fragment of one with a non-empty session id that fits inside the record and the fragment.
 */
export function parseClientHello(datagram: Uint8Array): ClientHelloInfo | null {
  const d = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  if (d.length < SESSION_ID_AT + 1 || !looksLikeHandshake(d)) return null;
  if (d.readUInt16BE(3) !== 0) return null; // a ClientHello travels in epoch 0
  const recordEnd = RECORD_HEADER + d.readUInt16BE(11);
  if (recordEnd > d.length || d[RECORD_HEADER] !== CLIENT_HELLO) return null;
  const fragmentOffset = d.readUIntBE(RECORD_HEADER + 6, 3);
  const fragmentEnd = RECORD_HEADER + HANDSHAKE_HEADER + d.readUIntBE(RECORD_HEADER + 9, 3);
  if (fragmentOffset !== 0 || fragmentEnd > recordEnd) return null;
  const idLength = d[SESSION_ID_AT] as number;
  const idEnd = SESSION_ID_AT + 1 + idLength;
  if (idLength === 0 || idLength > MAX_SESSION_ID || idEnd > fragmentEnd) return null;
  return {
    sessionId: Buffer.from(d.subarray(SESSION_ID_AT + 1, idEnd)),
    random: Buffer.from(d.subarray(RANDOM_AT, SESSION_ID_AT)),
  };
}
