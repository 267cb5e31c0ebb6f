// Structural checks every rendered ruleset must pass, whatever the input.
import { isMoatChain } from '../../src/core/names.js';
import { type RenderedRuleset, TABLES } from '../../src/core/render.js';

const BUILTIN_TARGETS = new Set(['ACCEPT', 'DROP', 'REJECT', 'RETURN', 'MASQUERADE', 'DNAT', 'SNAT', 'LOG']);
const SAFE = /^[A-Za-z0-9_.:/=+,"![\] -]+$/;

export function checkInvariants(r: RenderedRuleset): string[] {
  const errors: string[] = [];
  for (const table of TABLES) {
    const t = r.tables[table];
    for (const target of Object.values(t.jumps)) if (!t.chains.has(target)) errors.push(`${table}: jump to undefined ${target}`);
    for (const [name, rules] of t.chains) {
      if (!isMoatChain(name)) errors.push(`${table}: chain ${name} is not a MOAT- chain`);
      if (name.length > 28) errors.push(`${table}: chain ${name} longer than 28 characters`);
      for (const body of rules) {
        const target = /-j (\S+)/.exec(body)?.[1];
        if (!target) errors.push(`${name}: rule without target: ${body}`);
        else if (!BUILTIN_TARGETS.has(target) && !t.chains.has(target)) errors.push(`${name}: jump to undefined chain ${target}`);
        if (!/--comment "moat:[^"]+"/.test(body)) errors.push(`${name}: rule without moat comment: ${body}`);
        if (!SAFE.test(body)) errors.push(`${name}: unexpected character in ${body}`);
        // Only replies may be accepted by bridge pattern; new traffic of an unknown bridge is denied.
        if (/-[io] br-\+|-[io] docker0/.test(body) && name === 'MOAT-FORWARD' && /-j ACCEPT/.test(body) && !/--ctstate RELATED,ESTABLISHED /.test(body))
          errors.push(`unknown bridges accepted: ${body}`);
      }
    }
  }
  return errors;
}
