/** A label value as a problem quotes it: at most `n` characters, an ellipsis when cut. */
export const cut = (s: string, n = 200): string => (s.length > n ? `${s.slice(0, n)}…` : s);
