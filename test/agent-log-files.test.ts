/**
 * The built `tandemd` writes its log files (root): with the fixtures' `--log-dir` in the scratch
 * tree, `agent.log` holds the "agent started" record as a JSON line with wall and monotonic
 * time and the component, in a 0750 directory as a 0640 file, and its stop record after SIGTERM.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, missing, titled } from '@tandem/testkit';
import {
  ensureAgentBuilt,
  scratch,
  startAgent,
  until,
  type AgentProcess,
  type Scratch,
} from './fixtures/agent/helpers.js';

interface Line {
  time: string;
  mono: number;
  level: string;
  scope: string;
  msg: string;
  fields?: Record<string, unknown>;
}

describe.skipIf(!isRoot)(titled('tandemd log files', missing('root')), () => {
  let s: Scratch;
  let agent: AgentProcess;
  const lines = (): Line[] =>
    readFileSync(join(s.logs, 'agent.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);

  beforeAll(async () => {
    ensureAgentBuilt();
    s = scratch();
    agent = await startAgent(s);
  }, 120_000);

  afterAll(() => {
    if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    s.cleanup();
  });

  it('writes "agent started" with time, mono, level, scope and fields', async () => {
    const started = Date.now();
    await until(() => {
      try {
        return lines().some((l) => l.msg === 'agent started');
      } catch {
        return false;
      }
    });
    const rec = lines().find((l) => l.msg === 'agent started')!;
    expect(Object.keys(rec)).toEqual(['time', 'mono', 'level', 'scope', 'msg', 'fields']);
    expect(rec).toMatchObject({ level: 'info', scope: 'tandemd', fields: { pid: agent.child.pid } });
    expect(Math.abs(Date.parse(rec.time) - started)).toBeLessThan(60_000);
    expect(rec.mono).toBeGreaterThan(0);
    expect(rec.mono).toBeLessThan(60_000);
    expect(lstatSync(s.logs).mode & 0o777).toBe(0o750);
    expect(lstatSync(join(s.logs, 'agent.log')).mode & 0o777).toBe(0o640);
    // The same record on stderr, without journald's priority prefix (stderr is a pipe here).
    expect(await agent.logged(/^\d{4}-.*INFO {2}\[tandemd\] agent started/m)).toMatch(
      /^\d{4}-.*INFO {2}\[tandemd\] agent started/m,
    );
  });

  it('SIGTERM: the stop is in the file too, after the start, mono increasing', async () => {
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    const all = lines();
    const start = all.findIndex((l) => l.msg === 'agent started');
    const stop = all.findIndex((l) => l.msg === 'agent stopped');
    expect(start).toBeGreaterThanOrEqual(0);
    expect(stop).toBeGreaterThan(start);
    expect(all[stop]!.mono).toBeGreaterThan(all[start]!.mono);
  });
});
