// Node's built-in modules without an import: `process.getBuiltinModule` (Node >= 20.16, Deno 2,
// Bun 1.1) returns one synchronously, and in a browser there is no `process` at all. A shared
// module (loaded by Node and by the browser build alike) that needs a built-in in a synchronous
// call — zlib's inflateSync for PNG, fs for a wasm file next to a package — asks here instead
// of importing `node:*` at its top (docs/browser.md: no `node:` import reaches the browser).

type GetBuiltin = (id: string) => unknown;

/** The built-in module `id` (e.g. 'node:zlib'), or undefined where there is none (a browser). */
export function nodeBuiltin<T>(id: `node:${string}`): T | undefined {
  const get = (globalThis as { process?: { getBuiltinModule?: GetBuiltin } }).process?.getBuiltinModule;
  return typeof get === 'function' ? (get(id) as T | undefined) : undefined;
}
