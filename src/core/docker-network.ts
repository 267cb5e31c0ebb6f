// One `GET /networks` object -> a Network (from-docker.ts), or null and a problem.
import { parseCidr } from './addr.js';
import { ID, obj, str, strMap } from './docker-json.js';
import type { Network, Problem } from './model.js';

/** Linux interface names: at most 15 bytes; we also refuse anything but these characters. */
export const IFACE = /^[A-Za-z0-9_.-]{1,15}$/;
const BRIDGE_DRIVERS = new Set(['bridge']);

function bridgeName(id: string, name: string, options: Readonly<Record<string, string>>): string {
  const explicit = options['com.docker.network.bridge.name'];
  if (explicit) return explicit;
  return name === 'bridge' ? 'docker0' : `br-${id.slice(0, 12)}`;
}

export function toNetwork(raw: unknown, problems: Problem[]): Network | null {
  const r = obj(raw);
  const id = str(r.Id);
  const name = str(r.Name);
  if (!ID.test(id)) {
    problems.push({ kind: 'docker_data_invalid', subject: `network ${JSON.stringify(name.slice(0, 80))}`, reason: 'network id is not 64 hex characters' });
    return null;
  }
  const driver = str(r.Driver);
  const options = strMap(r.Options);
  const labels = strMap(r.Labels);
  let bridge: string | null = null;
  if (BRIDGE_DRIVERS.has(driver)) {
    const candidate = bridgeName(id, name, options);
    if (IFACE.test(candidate)) bridge = candidate;
    else
      problems.push({
        kind: 'docker_data_invalid',
        subject: `network ${name}`,
        reason: `bridge name ${JSON.stringify(candidate.slice(0, 80))} is not a valid interface name`,
      });
  }
  const subnets4: string[] = [];
  const subnets6: string[] = [];
  const configs = Array.isArray(obj(r.IPAM).Config) ? (obj(r.IPAM).Config as unknown[]) : [];
  for (const c of configs) {
    const text = str(obj(c).Subnet);
    if (!text) continue;
    const cidr = parseCidr(text);
    if (!cidr) {
      problems.push({ kind: 'docker_data_invalid', subject: `network ${name}`, reason: `subnet ${JSON.stringify(text.slice(0, 80))} is not a CIDR` });
      continue;
    }
    (cidr.family === 4 ? subnets4 : subnets6).push(cidr.text);
  }
  return {
    id,
    name,
    driver,
    bridge,
    subnets4: [...new Set(subnets4)].sort(),
    subnets6: [...new Set(subnets6)].sort(),
    // Docker 28's gateway_mode_ipvN=isolated (no gateway for that family): moat
    // keeps the whole network in, as internal; failing closed is the safe reading.
    internal:
      r.Internal === true || Object.entries(options).some(([k, v]) => /^com\.docker\.network\.bridge\.gateway_mode_ipv[46]$/.test(k) && v === 'isolated'),
    icc: options['com.docker.network.bridge.enable_icc'] !== 'false',
    nat: options['com.docker.network.bridge.enable_ip_masquerade'] !== 'false',
    options,
    labels,
  };
}
