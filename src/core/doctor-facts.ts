// What `moat doctor` judges: the host's facts as adapters/doctor-facts.ts
// gathers them. Plain data, so every check is testable from a few strings.
import type { RuntimeFacts } from './doctor-gate.js';
import type { RenderedRuleset } from './render.js';

export interface DoctorFacts {
  /** `firewallBackend`: /info FirewallBackend.Driver (Docker 28.3+: `iptables`, 29+: also `nftables`). */
  readonly docker: {
    readonly reachable: boolean;
    readonly error?: string;
    readonly version?: string;
    readonly swarm?: string;
    readonly rootDir?: string;
    readonly firewallBackend?: string;
  };
  /** dockerd's command line (argv after the program), or null when its process was not found. */
  readonly dockerdArgs: readonly string[] | null;
  /** The daemon config file dockerd reads (its --config-file, else /etc/docker/daemon.json). */
  readonly daemonJson: { readonly path: string; readonly text: string | null };
  /** sysctl name -> value (trimmed), null when the switch does not exist. */
  readonly sysctl: Readonly<Record<string, string | null>>;
  /** `iptables -V`, e.g. `iptables v1.8.9 (nf_tables)`; null when it does not run. */
  readonly iptablesVersion: string | null;
  /** `iptables-legacy-save` / `iptables-nft-save` (and ip6tables-) outputs; null when the tool does not run. */
  readonly saves: Readonly<Record<'legacy4' | 'nft4' | 'legacy6' | 'nft6', string | null>>;
  /** What moatd would write, per family; null when Docker could not be listed. */
  readonly desired: readonly RenderedRuleset[] | null;
  readonly containers: readonly { readonly name: string; readonly networkMode: string; readonly privileged: boolean; readonly capAdd: readonly string[] }[];
  readonly control: {
    readonly socket: string;
    readonly ok: boolean;
    readonly error?: string;
    readonly dockerConnected?: boolean;
    readonly lastOk?: boolean | null;
  };
  /** Some Docker network has IPv6 subnets. */
  readonly ipv6Networks: boolean;
  /** Docker's default runtime and registered runtimes; null when Docker is not reachable. */
  readonly runtime?: RuntimeFacts | null;
  /** `nft list tables`, as `FAMILY NAME` (e.g. `ip docker-bridges`); null when nft does not run. Absent: not gathered. */
  readonly nftTables?: readonly string[] | null;
}
