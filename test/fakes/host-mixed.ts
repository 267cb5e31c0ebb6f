// The host-mixed golden scenario's Docker lists: the unit tests' standard host.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const hostMixed = JSON.parse(readFileSync(join(import.meta.dirname, '../golden/scenarios/host-mixed/snapshot.json'), 'utf8'));
