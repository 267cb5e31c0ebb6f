// `moat doctor`: facts about the host (gathered by adapters/doctor-facts.ts)
// -> pass/warn/fail checks, each failing one with the fix. Pure, so every
// misconfiguration is testable from a few strings. Each group of checks is a
// file of its own; this one runs them in the order the report shows them.
import type { Config } from './config.js';
import type { Check } from './doctor-check.js';
import { containerChecks } from './doctor-containers.js';
import { dnsChecks } from './doctor-dns.js';
import { dockerChecks } from './doctor-docker.js';
import type { DoctorFacts } from './doctor-facts.js';
import { startGateCheck } from './doctor-gate.js';
import { kernelChecks } from './doctor-kernel.js';
import { moatChecks } from './doctor-moat.js';

export function runChecks(f: DoctorFacts, config: Config): Check[] {
  return [
    ...dockerChecks(f),
    ...kernelChecks(f, config),
    ...containerChecks(f, config),
    ...moatChecks(f, config),
    startGateCheck(f.runtime, config),
    ...dnsChecks(f, config),
  ];
}
