// The default of a switch over a discriminated union: with every case handled,
// `x` is `never` and this compiles; a kind added to the union and not handled
// is a compile error at each switch that misses it.
export function assertNever(x: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(x)}`);
}
