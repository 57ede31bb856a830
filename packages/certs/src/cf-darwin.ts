/**
 * CoreFoundation through koffi, the little the macOS keychain binding (security-api-darwin.ts)
 * needs: strings, dictionaries, arrays and data made and read, the framework's exported constants
 * read, errors described, references released. Loaded only on macOS, by absolute framework path.
 * Every `…Create…`/`…Copy…` result is ours to {@link CoreFoundation.release}.
 */
import { createRequire } from 'node:module';

/** A CoreFoundation object (`CFTypeRef`): a pointer, as koffi 3 gives pointers. */
export type CFRef = bigint & { readonly __cf: 'ref' };

/** The CoreFoundation helpers. */
export interface CoreFoundation {
  /** The value of a `CFStringRef`/`CFTypeRef` constant a framework exports (`kSecClass`, …). */
  constant(lib: KoffiLibrary, name: string): CFRef;
  /** A CFString from UTF-8 text. */
  string(text: string): CFRef;
  /** A CFDictionary with CFType callbacks (keys and values are retained by it). */
  dictionary(entries: ReadonlyArray<readonly [CFRef, CFRef]>): CFRef;
  /** A CFArray with CFType callbacks. */
  array(items: readonly CFRef[]): CFRef;
  /** A CFData holding a copy of `bytes`. */
  data(bytes: Uint8Array): CFRef;
  /** A copy of a CFData's bytes. */
  bytes(data: CFRef): Buffer;
  /** The items of a CFArray (not retained: they live as long as the array). */
  items(array: CFRef): CFRef[];
  /** A CFError's code and description. */
  error(error: CFRef): { code: number; description: string };
  retain(ref: CFRef): CFRef;
  release(ref: CFRef): void;
  /** `kCFBooleanTrue`. */
  readonly true: CFRef;
}

/** A library koffi loaded. */
export type KoffiLibrary = ReturnType<typeof import('koffi').load>;

const CF_PATH = '/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation';
const kCFStringEncodingUTF8 = 0x08000100;
type Fn = (...args: unknown[]) => unknown;

let bound: CoreFoundation | undefined;

/** Binds CoreFoundation once per process (macOS only). */
export function loadCoreFoundation(): CoreFoundation {
  bound ??= bind();
  return bound;
}

function bind(): CoreFoundation {
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load(CF_PATH);
  const f = (decl: string): Fn => lib.func(decl) as Fn;
  const createString = f('void *CFStringCreateWithCString(void *alloc, const char *text, uint32_t encoding)');
  const createDictionary = f(
    'void *CFDictionaryCreate(void *alloc, const uint64_t *keys, const uint64_t *values, long count, void *keyCallBacks, void *valueCallBacks)',
  );
  const createArray = f('void *CFArrayCreate(void *alloc, const uint64_t *values, long count, void *callBacks)');
  const arrayCount = f('long CFArrayGetCount(void *array)');
  const arrayItem = f('void *CFArrayGetValueAtIndex(void *array, long index)');
  const createData = f('void *CFDataCreate(void *alloc, const uint8_t *bytes, long length)');
  const dataLength = f('long CFDataGetLength(void *data)');
  const dataBytes = f('const void *CFDataGetBytePtr(void *data)');
  const errorCode = f('long CFErrorGetCode(void *error)');
  const errorDescription = f('void *CFErrorCopyDescription(void *error)');
  const stringLength = f('long CFStringGetLength(void *text)');
  const stringText = f('int CFStringGetCString(void *text, _Out_ uint8_t *buffer, long size, uint32_t encoding)');
  const retain = f('void *CFRetain(void *ref)');
  const release = f('void CFRelease(void *ref)');
  // The callback structures are exported variables: their addresses are what the calls take.
  const keyCallBacks = lib.symbol('kCFTypeDictionaryKeyCallBacks');
  const valueCallBacks = lib.symbol('kCFTypeDictionaryValueCallBacks');
  const arrayCallBacks = lib.symbol('kCFTypeArrayCallBacks');
  const constant = (from: KoffiLibrary, name: string): CFRef =>
    BigInt(koffi.decode(from.symbol(name), 'void *') as bigint) as CFRef;
  const refs = (list: readonly CFRef[]): BigUint64Array => BigUint64Array.from(list);
  const made = (p: unknown, what: string): CFRef => {
    if (!p) throw new Error(`${what} returned NULL`);
    return BigInt(p as bigint) as CFRef;
  };
  const text = (ref: CFRef): string => {
    // UTF-8 takes at most 4 bytes per UTF-16 unit, plus the terminator.
    const size = Number(stringLength(ref)) * 4 + 1;
    const buffer = Buffer.alloc(size);
    if (!stringText(ref, buffer, size, kCFStringEncodingUTF8)) return '';
    return buffer.subarray(0, buffer.indexOf(0)).toString('utf8');
  };
  return {
    constant,
    string: (value) => made(createString(null, value, kCFStringEncodingUTF8), 'CFStringCreateWithCString'),
    dictionary: (entries) =>
      made(
        createDictionary(
          null,
          refs(entries.map(([k]) => k)),
          refs(entries.map(([, v]) => v)),
          entries.length,
          keyCallBacks,
          valueCallBacks,
        ),
        'CFDictionaryCreate',
      ),
    array: (items) => made(createArray(null, refs(items), items.length, arrayCallBacks), 'CFArrayCreate'),
    data: (bytes) => made(createData(null, bytes, bytes.length), 'CFDataCreate'),
    bytes: (data) => {
      const length = Number(dataLength(data));
      return length === 0 ? Buffer.alloc(0) : Buffer.from(new Uint8Array(koffi.view(dataBytes(data), length)));
    },
    items: (array) =>
      Array.from({ length: Number(arrayCount(array)) }, (_, i) => made(arrayItem(array, i), 'CFArrayGetValueAtIndex')),
    error: (error) => {
      const description = errorDescription(error) as CFRef | null;
      const out = { code: Number(errorCode(error)), description: description ? text(description) : '' };
      if (description) release(description);
      return out;
    },
    retain: (ref) => made(retain(ref), 'CFRetain'),
    release: (ref) => void release(ref),
    true: constant(lib, 'kCFBooleanTrue'),
  };
}
