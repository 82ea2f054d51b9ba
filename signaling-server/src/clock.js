// Clocks read once per turn of the event loop. Reading a clock costs about
// 0.1 µs here (more on a VM without a fast clock source), and one incoming
// chunk can hold many frames, each looked at by the budgets, the calls and
// the registry. Within one synchronous run (an I/O callback and the ticks
// and microtasks it queues) every caller gets the same reading, taken at its
// first use; the next run reads the clock afresh. That is exact enough for
// token buckets and TTLs measured in milliseconds and more; latency metrics,
// which measure inside one run, read performance.now() themselves.

let monotonic = 0;
let wall = 0;
let fresh = false;
const expire = () => {
  fresh = false;
};

function read() {
  monotonic = performance.now();
  wall = Date.now();
  fresh = true;
  queueMicrotask(expire);
}

/** performance.now() as of this run of the event loop. */
export function runMonotonicMs() {
  if (!fresh) read();
  return monotonic;
}

/** Date.now() as of this run of the event loop. */
export function runWallMs() {
  if (!fresh) read();
  return wall;
}
