/**
 * Bytes → text. Documents are UTF-8 in practice, but the Windows profile editor and some
 * deployment tools write UTF-16 with or without a BOM, so both byte orders are recognised from
 * the BOM or from the `<` / `<?` pattern with interleaved zero bytes. Decoding is strict:
 * invalid UTF-8 or unpaired UTF-16 surrogates are refused, never replaced with U+FFFD, so a
 * corrupted file cannot silently turn into a different host name.
 */
import { invalidXml } from './error.js';

/** Detected encoding of the input. */
export type SourceEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

/** Result of {@link decodeXmlBytes}. */
export interface DecodedText {
  text: string;
  encoding: SourceEncoding;
  hadBom: boolean;
}

function sniff(bytes: Buffer): { encoding: SourceEncoding; bomLength: number } {
  const [b0, b1, b2] = [bytes[0], bytes[1], bytes[2]];
  if (b0 === 0xef && b1 === 0xbb && b2 === 0xbf) return { encoding: 'utf-8', bomLength: 3 };
  if (b0 === 0xff && b1 === 0xfe) return { encoding: 'utf-16le', bomLength: 2 };
  if (b0 === 0xfe && b1 === 0xff) return { encoding: 'utf-16be', bomLength: 2 };
  if (b0 === 0x3c && b1 === 0x00) return { encoding: 'utf-16le', bomLength: 0 };
  if (b0 === 0x00 && b1 === 0x3c) return { encoding: 'utf-16be', bomLength: 0 };
  return { encoding: 'utf-8', bomLength: 0 };
}

/** Offset of the first byte that is not part of a valid UTF-8 sequence, or -1. */
function firstInvalidUtf8(bytes: Buffer, start: number): number {
  let i = start;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    if (b < 0x80) {
      i += 1;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

function positionOfByte(bytes: Buffer, start: number, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = start;
  for (let i = start; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line += 1;
      lineStart = i + 1;
    }
  }
  // Column counts characters, so decode the (valid) prefix of the line.
  const column = bytes.subarray(lineStart, offset).toString('utf8').length + 1;
  return { line, column };
}

/**
 * Decodes a document's bytes. Throws E_XML_INVALID (with the position of the first bad
 * byte for UTF-8) when the bytes are not valid in the detected encoding.
 */
export function decodeXmlBytes(bytes: Buffer, source: string): DecodedText {
  const { encoding, bomLength } = sniff(bytes);
  if (encoding === 'utf-8') {
    const bad = firstInvalidUtf8(bytes, bomLength);
    if (bad !== -1) {
      const pos = positionOfByte(bytes, bomLength, bad);
      const hex = (bytes[bad] ?? 0).toString(16).padStart(2, '0');
      throw invalidXml(source, pos.line, pos.column, `invalid UTF-8 (byte 0x${hex} at offset ${bad})`);
    }
    return { text: bytes.toString('utf8', bomLength), encoding, hadBom: bomLength > 0 };
  }
  const body = bytes.subarray(bomLength);
  if (body.length % 2 !== 0) throw invalidXml(source, 0, 0, `truncated ${encoding} text (odd byte count)`);
  try {
    const text = new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(body);
    return { text, encoding, hadBom: bomLength > 0 };
  } catch {
    throw invalidXml(source, 0, 0, `invalid ${encoding} text (unpaired surrogate)`);
  }
}
