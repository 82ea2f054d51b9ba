// Steps that are synchronous with the in-memory stores and asynchronous with
// Redis. Chaining them with `await` would cost every message in memory mode
// several promise allocations and microtask hops for nothing; `after` runs
// the next step at once when there is nothing to wait for.

export const isPromise = (v) => v !== null && typeof v === 'object' && typeof v.then === 'function';

/** fn(value), now if `value` is a plain value, else once it has settled. */
export const after = (value, fn) => (isPromise(value) ? value.then(fn) : fn(value));
