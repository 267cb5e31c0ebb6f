// The test DNS server's records (dns-server.ts), as a JSON file it re-reads
// whenever the file changes, so a test changes an answer mid-test by writing
// the file again (writeZone: a whole new file renamed into place, never a
// half-written one). Names are lower-case, without the trailing dot.

export interface DnsRecord {
  readonly type: 'A' | 'AAAA' | 'CNAME';
  /** An address (A, AAAA) or the target name (CNAME). */
  readonly value: string;
  /** Seconds; default the zone's defaultTtl. */
  readonly ttl?: number;
}

/**
 * How the server misbehaves for a name (the forwarder's hostile upstream):
 * `id` answers with another message id, `question` answers another name's
 * question (the records of the asked name under it), `garbage` sends bytes
 * that are not DNS.
 */
export type DnsLie = 'id' | 'question' | 'garbage';

export interface DnsZone {
  readonly records: Readonly<Record<string, readonly DnsRecord[]>>;
  /** `answer` (default); `drop`: read every query and answer none (an upstream that is down). */
  readonly mode?: 'answer' | 'drop';
  readonly lies?: Readonly<Record<string, DnsLie>>;
  /** Default 60. */
  readonly defaultTtl?: number;
}

/** One line of the server's stdout per query it read. */
export interface DnsQueryLine {
  readonly event: 'query';
  /** Unix time, ms (with fractions). */
  readonly t: number;
  readonly proto: 'udp' | 'tcp';
  /** The client's address and port. */
  readonly from: string;
  readonly id: number;
  readonly name: string;
  readonly type: string;
  /** NOERROR, NXDOMAIN, dropped, lie:KIND, FORMERR (the query did not parse). */
  readonly outcome: string;
  /** The A/AAAA/CNAME data answered. */
  readonly answers: readonly string[];
}
