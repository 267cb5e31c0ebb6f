import { describe, expect, it } from 'vitest';
import { type DockerEvent, eventLineReader } from './docker.js';

const line = (o: object) => `${JSON.stringify(o)}\n`;

describe('eventLineReader', () => {
  it('reassembles lines split across chunks, multi-byte characters included', () => {
    const events: DockerEvent[] = [];
    const read = eventLineReader((e) => events.push(e));
    const bytes = Buffer.from(
      line({ Type: 'container', Action: 'start', Actor: { ID: 'a', Attributes: { x: 'héé€' } } }) +
        line({ Type: 'network', Action: 'connect', Actor: { ID: 'n' } }),
    );
    for (let i = 0; i < bytes.length; i += 3) read(bytes.subarray(i, i + 3));
    expect(events).toEqual([
      { type: 'container', action: 'start', id: 'a' },
      { type: 'network', action: 'connect', id: 'n' },
    ]);
  });

  it('drops an oversized line once, reports it, and reads on', () => {
    const events: DockerEvent[] = [];
    const read = eventLineReader((e) => events.push(e), 100);
    read(Buffer.from(`{"Type":"container","Action":"start","x":"${'a'.repeat(150)}`));
    read(Buffer.from(`${'a'.repeat(500)}"}\n${line({ Type: 'container', Action: 'die', Actor: { ID: 'b' } })}`));
    read(Buffer.from('not json\n'));
    expect(events).toEqual([
      { type: 'unknown', action: 'oversized', id: '' },
      { type: 'container', action: 'die', id: 'b' },
      { type: 'unknown', action: 'unparsable', id: '' },
    ]);
  });

  it('strips the suffix of actions like health_status: healthy', () => {
    const events: DockerEvent[] = [];
    eventLineReader((e) => events.push(e))(Buffer.from(line({ Type: 'container', Action: 'health_status: healthy', Actor: { ID: 'c' } })));
    expect(events).toEqual([{ type: 'container', action: 'health_status', id: 'c' }]);
  });
});
