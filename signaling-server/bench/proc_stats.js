// Per-process CPU and memory from /proc, for benchmarks that share a
// machine: a result taken on a busy machine says so.

import { readFileSync } from 'node:fs';

export function rssMb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return NaN;
  }
}

// CPU accounting from /proc, so a result taken on a busy machine says so:
// per process (clock ticks of user+system time) and for the whole machine.
const TICKS = 100; // USER_HZ on Linux
export function procTicks(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}
export function machineTicks() {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const idle = v[3] + v[4];
  return { busy: v.reduce((a, b) => a + b, 0) - idle };
}
export function cpuSnapshot(groups) {
  return { at: Date.now(), machine: machineTicks(), groups: Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, pids.reduce((n, pid) => n + procTicks(pid), 0)])) };
}
/** % of one core used by each group, and by everything else on the machine. */
export function cpuUsage(a, b) {
  const secs = (b.at - a.at) / 1000;
  const pct = (ticks) => (100 * ticks) / TICKS / secs;
  const out = {};
  let ours = 0;
  for (const k of Object.keys(a.groups)) {
    const d = b.groups[k] - a.groups[k];
    ours += d;
    out[k] = pct(d);
  }
  out.other = Math.max(0, pct(b.machine.busy - a.machine.busy - ours));
  return out;
}
