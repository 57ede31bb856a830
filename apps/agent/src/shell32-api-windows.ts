/**
 * The one shell32 call behind the agent's Windows paths (platform-paths.ts): where `%ProgramData%`
 * is, from the known-folder API rather than the environment. An interface of its own so tests pass
 * a recording fake; {@link loadKnownFolderApi} binds it through koffi, on Windows only.
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from '@tandem/common';

/** The path, or the HRESULT the call failed with. */
export type HResult<T> = { ok: true; value: T } | { ok: false; hresult: number };

/** The known-folder call the agent makes. */
export interface KnownFolderApi {
  /** SHGetKnownFolderPath(FOLDERID_ProgramData, KF_FLAG_DEFAULT, NULL): the path, freed with CoTaskMemFree. */
  programData(): HResult<string>;
}

/** `%ProgramData%` through `api`; a failure is typed with the HRESULT in hex. */
export function programDataFolder(api: KnownFolderApi): string {
  const r = api.programData();
  if (!r.ok)
    throw new TandemError(
      ErrorCodes.INTERNAL,
      `SHGetKnownFolderPath(FOLDERID_ProgramData) failed: HRESULT 0x${(r.hresult >>> 0).toString(16).padStart(8, '0')}`,
      { details: { call: 'SHGetKnownFolderPath', hresult: r.hresult >>> 0 } },
    );
  return r.value;
}

/** FOLDERID_ProgramData, {62AB5D82-FDC1-4DC3-A9DD-070D1D495D97}, as GUID's fields. */
const FOLDERID_PROGRAM_DATA = {
  Data1: 0x62ab5d82,
  Data2: 0xfdc1,
  Data3: 0x4dc3,
  Data4: [0xa9, 0xdd, 0x07, 0x0d, 0x1d, 0x49, 0x5d, 0x97],
};

let loaded: KnownFolderApi | undefined;

/** Binds shell32 and ole32 through koffi, once per process; fails (typed) anywhere but Windows. */
export function loadKnownFolderApi(): KnownFolderApi {
  loaded ??= bind();
  return loaded;
}

function bind(): KnownFolderApi {
  if (process.platform !== 'win32')
    throw new TandemError(ErrorCodes.INTERNAL, `the known-folder API cannot be bound on ${process.platform}`);
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const shell32 = koffi.load('shell32.dll');
  const ole32 = koffi.load('ole32.dll');
  koffi.struct('TANDEM_AGENT_GUID', {
    Data1: 'uint32_t',
    Data2: 'uint16_t',
    Data3: 'uint16_t',
    Data4: koffi.array('uint8_t', 8),
  });
  const SHGetKnownFolderPath = shell32.func(
    'int32_t __stdcall SHGetKnownFolderPath(TANDEM_AGENT_GUID *id, uint32_t flags, intptr_t token, _Out_ void **path)',
  ) as unknown as (...args: unknown[]) => number;
  const CoTaskMemFree = ole32.func('void __stdcall CoTaskMemFree(void *mem)') as unknown as (p: unknown) => void;
  return {
    programData() {
      const out: unknown[] = [null];
      const hr = SHGetKnownFolderPath(FOLDERID_PROGRAM_DATA, 0, 0, out);
      try {
        return hr < 0 ? { ok: false, hresult: hr } : { ok: true, value: koffi.decode(out[0], 'str16') as string };
      } finally {
        // Freed on failure too: the API documents the buffer as the caller's either way.
        CoTaskMemFree(out[0]);
      }
    },
  };
}
