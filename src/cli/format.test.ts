import { describe, expect, it } from 'vitest';
import { dockerLists } from '../../test/fakes/docker-lists.js';
import { ConfigSchema } from '../core/config.js';
import { fromDocker } from '../core/from-docker.js';
import { buildMatrix } from '../core/matrix.js';
import { buildPolicy } from '../core/policy.js';
import { renderMatrix } from './commands/matrix.js';
import { colourEnabled, style, table, width } from './format.js';

describe('table', () => {
  it('aligns columns, with multi-line cells and colour codes taking no width', () => {
    const s = style(true);
    const out = table(
      ['NAME', 'GRANTS', 'X'],
      [
        [s.green('web'), ['-> db:5432/tcp', '-> world'], 'a'],
        ['longer-name', '-', 'b'],
      ],
    );
    expect(out.replace(/\u001b\[\d+m/g, '')).toBe(
      ['NAME         GRANTS          X', 'web          -> db:5432/tcp  a', '             -> world', 'longer-name  -               b', ''].join('\n'),
    );
    expect(width(s.red('abc'))).toBe(3);
  });

  it('colours only a terminal, and never with NO_COLOR', () => {
    expect(colourEnabled({ isTTY: false }, {})).toBe(false);
    expect(colourEnabled({ isTTY: true }, {})).toBe(true);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colourEnabled({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(style(false).red('x')).toBe('x');
  });
});

describe('renderMatrix', () => {
  it('stays readable at 36 containers: one row per source, two-character cells, numbered columns', () => {
    const nets = { a: { subnets: ['172.30.1.0/24'] }, b: { subnets: ['172.30.2.0/24'] }, c: { subnets: ['172.30.3.0/24'] } };
    const ctrs = Object.fromEntries(
      Array.from({ length: 36 }, (_, i) => {
        const net = ['a', 'b', 'c'][i % 3]!;
        return [`svc-${String(i).padStart(2, '0')}`, { nets: { [net]: `172.30.${(i % 3) + 1}.${10 + i}` } }];
      }),
    );
    const config = ConfigSchema.parse({});
    const m = buildMatrix(buildPolicy(fromDocker(dockerLists(nets, ctrs)).result, config), config);
    const out = renderMatrix(m, style(false)).split('\n');
    const rows = out.filter((l) => /^\s*\d+ {2}\S/.test(l));
    expect(rows).toHaveLength(39);
    // Every row is the same width: name column, then 39 two-character cells.
    expect(new Set(rows.map((r) => r.length)).size).toBe(1);
    expect(Math.max(...rows.map((r) => r.length))).toBeLessThan(100);
    // Column numbers printed vertically: a tens line and a units line.
    expect(out[1]!.trim().split(' ')[9]).toBe('1');
    expect(out[2]!.trim().split(' ').slice(0, 3)).toEqual(['1', '2', '3']);
    expect(out).toContain('network a');
    // svc-00 (network a) reaches svc-03 (same network), not svc-01 (network b).
    const row = rows.find((r) => r.includes('svc-00'))!;
    const cells = row
      .slice(row.indexOf('svc-00') + 'svc-00'.length)
      .trim()
      .split(' ');
    expect(cells[0]).toBe('\\');
    expect(cells[1]).toBe('●');
    expect(cells[12]).toBe('·');
  });
});
