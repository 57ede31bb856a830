import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab } from './netns.js';
import { missing, titled } from '@tandem/testkit';

const reason = missing('netns', 'ping');

describe.skipIf(reason)(titled('network-namespace lab', reason), () => {
  const lab = new NetnsLab('tlab', [250, 1]);
  beforeAll(() => lab.create());
  afterAll(() => lab.destroy());

  it('joins the two namespaces and gives each its own resolv.conf', async () => {
    await lab.exec(lab.cli, 'ping', ['-c1', '-W2', lab.srvAddr]);
    expect(await lab.exec(lab.cli, 'cat', ['/etc/resolv.conf'])).toContain('tlab-cli');
    const a = await lab.snapshot();
    const b = await lab.snapshot();
    expect(a).toBe(b);
    expect(a).toContain(`default via ${lab.srvAddr}`);
  });
});
