// Reading Docker's list JSON: each value taken only when it has the type it
// should (anything else reads as empty), and Docker's 64-hex-character ids.

/** A Docker object id: 64 lowercase hex characters. */
export const ID = /^[0-9a-f]{64}$/;

export type Obj = Record<string, unknown>;
export const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
export const strMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(obj(v))) if (typeof val === 'string') out[k] = val;
  return out;
};
