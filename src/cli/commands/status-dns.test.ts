// moat status's dns line, from a status document (an older moatd's has none).
import { describe, expect, it } from 'vitest';
import { DaemonStatus } from '../../runtime/status.js';
import { style } from '../format.js';
import { renderStatus } from './status.js';

const doc = () => new DaemonStatus({ now: () => 0, wallClock: () => 0, pid: 1 }).document();

describe('moat status: DNS', () => {
  it('says the forwarder is off when dns.listen is null, and names each grant with its learned count', () => {
    expect(renderStatus(doc(), style(false))).toMatch(/^dns {7}off \(dns.listen is null\); 0 queries/m);
    const dns = {
      enabled: true,
      listen: '10.255.255.53',
      upstream: ['192.168.1.1:53'],
      grants: [
        {
          pattern: '*.example.com',
          sets: { '4': 'moat-dns4-0123456789abcdef' },
          learned: [
            { address: '192.0.2.1', family: 4 as const, name: 'a.example.com', expiresAt: '2026-01-01T00:00:00Z', askedBy: 'web' },
            { address: '192.0.2.2', family: 4 as const, name: 'a.example.com', expiresAt: '2026-01-01T00:00:00Z', askedBy: null },
          ],
        },
      ],
      queries: 12,
      answersLearned: 2,
      upstreamFailures: 1,
      dropped: 0,
    };
    const text = renderStatus({ ...doc(), dns }, style(false));
    expect(text).toContain('dns       forwarding on 10.255.255.53 to 192.168.1.1:53; 12 queries, 2 learned, 1 upstream failures, 0 dropped');
    expect(text).toContain('          dns:*.example.com  2 addresses learned (a.example.com)');
    expect(renderStatus({ ...doc(), dns: { ...dns, enabled: false, grants: [] } }, style(false))).toContain('not listening on 10.255.255.53');
    const { dns: _gone, ...older } = doc();
    expect(renderStatus(older as ReturnType<typeof doc>, style(false))).not.toMatch(/^dns/m);
  });
});
