// One line of `moat doctor`'s report: what every check (doctor-*.ts) returns.
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface Check {
  /** Stable id, e.g. `docker-iptables`. */
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  /** What was found. */
  readonly detail: string;
  /** What to do about it; null when nothing is to be done. */
  readonly fix: string | null;
}
