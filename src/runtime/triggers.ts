// What asked for a reconcile, as far as the reconciler cares: a run that only
// Docker events and start gates asked for may trust memory (the cached
// listing, the last commit) for what nothing said has changed.

/** The trigger of a run a start gate asked for. */
export const GATE_TRIGGER = 'gate';

/** A Docker event's trigger (`container.start`, `network.connect`, `unknown.oversized`): see Watcher. */
const dockerEvent = (trigger: string) => /^(container|network|unknown)\./.test(trigger);

/** A run asked for by Docker events or start gates only: memory may stand in for the kernel. */
export const eventsOnly = (triggers: readonly string[]): boolean => triggers.every((t) => dockerEvent(t) || t === GATE_TRIGGER);
