// `moat doctor`'s checks of the kernel moat relies on: bridged traffic through
// iptables, forwarding on, and one iptables backend holding the rules.
import type { Config } from './config.js';
import type { Check } from './doctor-check.js';
import { checkList } from './doctor-check-list.js';
import type { DoctorFacts } from './doctor-facts.js';
import { iptablesBackend, ruleCount } from './doctor-saves.js';

export function kernelChecks(f: DoctorFacts, config: Config): Check[] {
  const { checks, add } = checkList();
  // br_netfilter: traffic inside one bridge reaches iptables only with it.
  for (const [name, family] of [
    ['net.bridge.bridge-nf-call-iptables', 4],
    ['net.bridge.bridge-nf-call-ip6tables', 6],
  ] as const) {
    const v = f.sysctl[name];
    const title = `${name} = 1`;
    if (family === 6 && config.ipv6 === 'off') add(`br-netfilter-v${family}`, title, 'skip', 'ipv6: off');
    else if (v === null || v === undefined)
      add(
        `br-netfilter-v${family}`,
        title,
        'fail',
        'br_netfilter is not loaded: traffic between containers on one network never reaches iptables (ICC off and same-network rules do nothing)',
        `modprobe br_netfilter && sysctl -w ${name}=1; persist: echo br_netfilter > /etc/modules-load.d/moat.conf and ${name}=1 in /etc/sysctl.d/99-moat.conf`,
      );
    else if (v !== '1')
      add(
        `br-netfilter-v${family}`,
        title,
        'fail',
        `${name} is ${v}: traffic between containers on one network bypasses iptables (ICC off and same-network rules do nothing)`,
        `sysctl -w ${name}=1; persist it in /etc/sysctl.d/99-moat.conf`,
      );
    else add(`br-netfilter-v${family}`, title, 'pass', 'bridged traffic goes through iptables');
  }

  const fwd4 = f.sysctl['net.ipv4.ip_forward'];
  add(
    'ip-forward-v4',
    'IPv4 forwarding on',
    fwd4 === '1' ? 'pass' : 'warn',
    fwd4 === '1'
      ? 'net.ipv4.ip_forward = 1'
      : `net.ipv4.ip_forward is ${fwd4 ?? 'unreadable'}: containers reach nothing beyond their bridge (world egress, published ports in dnat mode)`,
    'sysctl -w net.ipv4.ip_forward=1; persist it in /etc/sysctl.d/99-moat.conf',
  );
  if (f.ipv6Networks && config.ipv6 !== 'off') {
    const fwd6 = f.sysctl['net.ipv6.conf.all.forwarding'];
    add(
      'ip-forward-v6',
      'IPv6 forwarding on',
      fwd6 === '1' ? 'pass' : 'warn',
      fwd6 === '1'
        ? 'net.ipv6.conf.all.forwarding = 1'
        : `net.ipv6.conf.all.forwarding is ${fwd6 ?? 'unreadable'}: IPv6 containers reach nothing beyond their bridge`,
      'sysctl -w net.ipv6.conf.all.forwarding=1',
    );
  }

  const backend = iptablesBackend(f);
  // Two backends: both run in the kernel, moat sees and orders only its own.
  const other = backend === 'nft' ? 'legacy' : 'nft';
  const foreign = ruleCount(f.saves[`${other}4`]) + ruleCount(f.saves[`${other}6`]);
  if (f.iptablesVersion === null)
    add('iptables-backend', 'one iptables backend', 'fail', 'iptables -V does not run: moat cannot work', 'install iptables (apt-get install iptables)');
  else if (foreign > 0) {
    const chains = [
      ...new Set(
        `${f.saves[`${other}4`] ?? ''}\n${f.saves[`${other}6`] ?? ''}`
          .split('\n')
          .filter((l) => l.startsWith('-A '))
          .map((l) => l.split(' ')[1]!),
      ),
    ];
    const tool = other === 'legacy' ? 'iptables-legacy' : 'iptables-nft';
    add(
      'iptables-backend',
      'one iptables backend',
      'warn',
      `moat writes with ${backend === 'nft' ? 'nf_tables' : 'legacy'} (${f.iptablesVersion}), but ${foreign} rule(s) live in the ${other} backend (${tool}-save shows them; chains ${chains.slice(0, 8).join(', ')}): the kernel runs both, and moat can neither see them nor put its jumps before them`,
      other === 'legacy'
        ? `move those rules to nf_tables (iptables-legacy-save | iptables-nft-restore) and flush them from legacy (iptables-legacy -F; iptables-legacy -X), or make every tool use one backend (update-alternatives --config iptables)`
        : 'flush the nf_tables rules (iptables-nft -F; iptables-nft -X) or switch moat to nf_tables (update-alternatives --set iptables /usr/sbin/iptables-nft)',
    );
  } else add('iptables-backend', 'one iptables backend', 'pass', `${f.iptablesVersion}; the ${other} backend holds no rules`);
  return checks;
}
