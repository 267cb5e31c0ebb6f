// Teardown on Ctrl-C / SIGTERM: sections register what they must undo while
// they hold it; a signal runs it all (newest first), then exits.
type Undo = () => Promise<void>;

const undos = new Set<Undo>();
let aborting = false;

/** True once a signal asked the bench to stop: its results are partial and must not be written. */
export const isAborting = () => aborting;

export function onAbort(undo: Undo): () => void {
  undos.add(undo);
  return () => undos.delete(undo);
}

export function installAbortHandlers(log: (s: string) => void): void {
  const handler = (signal: NodeJS.Signals) => {
    if (aborting) return;
    aborting = true;
    log(`${signal}: tearing down what the bench started`);
    void (async () => {
      for (const undo of [...undos].reverse()) await undo().catch((err: unknown) => log(`teardown: ${String(err)}`));
      process.exit(130);
    })();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
