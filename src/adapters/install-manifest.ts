// /var/lib/moat/install.json: what `moat install` did, so `moat uninstall`
// undoes exactly that, and daemon.json's values from before the first
// --configure-docker survive later re-installs and upgrades.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InstallError } from './install-layout.js';

const Previous = z.union([z.strictObject({ present: z.literal(false) }), z.strictObject({ present: z.literal(true), value: z.unknown() })]);

export const ManifestSchema = z.strictObject({
  version: z.literal(1),
  moatVersion: z.string(),
  prefix: z.string(),
  /** Host paths of the links and units written (the lib dir is implied by prefix). */
  paths: z.array(z.string()),
  config: z.strictObject({ path: z.string(), createdByMoat: z.boolean() }),
  /** Set once, by the first --configure-docker; never overwritten. */
  /** gate: default-runtime and runtimes.moat before the start gate was first registered. */
  docker: z
    .strictObject({
      path: z.string(),
      previous: z.strictObject({
        iptables: Previous,
        ip6tables: Previous,
        gate: z.strictObject({ defaultRuntime: Previous, moatRuntime: Previous }).optional(),
        /** "dns" before moat pointed it at dns.listen, and what moat wrote there. */
        dns: z.strictObject({ previous: Previous, wrote: z.array(z.string()) }).optional(),
      }),
    })
    .nullable(),
});

export type Manifest = z.infer<typeof ManifestSchema>;

export async function readManifest(path: string): Promise<Manifest | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InstallError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = ManifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new InstallError(`${path} is not an install record this moat understands: ${parsed.error.message}`);
  return parsed.data;
}

export function renderManifest(m: Manifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}
