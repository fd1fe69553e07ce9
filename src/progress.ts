// Progress messages for long work (weights loading, crops, prefill layers).

/** A progress printer that lets a message through at most once per `ms` (the first one
 *  after `ms`): long steps report as they go, short ones stay quiet. `msg` is built only
 *  when it will be printed. */
export function throttled(ms: number, say: (msg: string) => void): (msg: () => string) => void {
  let last = performance.now();
  return (msg) => {
    const now = performance.now();
    if (now - last >= ms) {
      last = now;
      say(msg());
    }
  };
}
