#!/usr/bin/env node
// node bench/profile_summary.js FILE.cpuprofile [--top 30] [--last-seconds 8]
//
// --last-seconds: only the samples of the profile's last N seconds (the
// steady state of a benchmark, without start-up and connecting).
// Where the time went in a V8 CPU profile (node --cpu-prof): self time per
// function and, more useful for "which part of the server costs what",
// inclusive time per source file (a sample counts once for every file on
// its stack). Used with `bench/throughput.js --server-args=--cpu-prof,…`.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, 'last-seconds': { type: 'string' } } });
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
if (values['last-seconds']) {
  // Sample i was taken at startTime + sum(timeDeltas[0..i]) µs.
  const at = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) at.push((t += d));
  const from = profile.endTime - Number(values['last-seconds']) * 1e6;
  profile.samples = profile.samples.filter((_, i) => at[i] >= from);
}
const top = Number(values.top);
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const counts = new Map();
for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
const total = profile.samples.length;

const short = (url) => (url ? url.replace(/^.*\/(node_modules\/)?/, (m) => (m.includes('node_modules') ? 'nm/' : '')).replace(/^file:\/\//, '') : '(native)');
const fileOf = (n) => {
  const url = n.callFrame.url;
  if (!url) return `(${n.callFrame.functionName || 'native'})`;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return `nm:${m[1]}`;
  const s = /signaling-server\/(.*)$/.exec(url);
  return s ? s[1] : url.replace(/^node:/, 'node:');
};

const self = new Map();
const inclusive = new Map();
for (const [id, c] of counts) {
  const n = nodes.get(id);
  const key = `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + c);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const f = fileOf(nodes.get(cur));
    if (seen.has(f)) continue;
    seen.add(f);
    inclusive.set(f, (inclusive.get(f) ?? 0) + c);
  }
}
const pct = (c) => `${((100 * c) / total).toFixed(1).padStart(5)} %`;
console.log(`${total} samples\n\nself time, top ${top}:`);
for (const [k, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(c)}  ${k}`);
console.log(`\ninclusive time per file, top ${top}:`);
for (const [k, c] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(c)}  ${k}`);
