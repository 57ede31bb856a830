/**
 * Runs one bundle collector as the bundle would, for the collector tests: its file's text and
 * its exit (a command's code, or `ok`).
 */
import { BundleRedactor, type Collector, type CollectorContext } from '@tandem/diagnostics';

/** The collector's text and exit; collectors under test return their file rather than add one. */
export async function runCollector(c: Collector): Promise<{ data: string; exit: number | 'ok' }> {
  const ctx: CollectorContext = {
    add: () => Promise.reject(new Error('these collectors return their file')),
    signal: new AbortController().signal,
    redactor: new BundleRedactor(),
  };
  const r = await c(ctx);
  if (typeof r === 'string') return { data: r, exit: 'ok' };
  if (r && typeof r === 'object' && 'exit' in r) return { data: String(r.data), exit: r.exit };
  throw new Error(`unexpected result ${String(r)}`);
}
