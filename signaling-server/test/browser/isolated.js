// Browser tests make real WebRTC calls, and chromium gathers candidates on
// every interface it sees: outside a namespace two pages on this machine would
// send connectivity checks to its LAN address. So these tests run in a network
// namespace that has only loopback:
//
//   node test/browser/isolated.js test/browser/screens.test.js …   (npm run test:browser)
//
// re-runs `node --test FILES` under `unshare --net` (as root, or with
// --map-root-user where user namespaces are allowed). Inside one already (the
// cargo test's namespace, or this runner's), it runs them directly. The test
// files call requireLoopbackOnly(), so running one by hand outside a namespace
// fails with this explanation instead of touching the LAN.

import { spawnSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';

/** True when every network interface is a loopback one. */
export function loopbackOnly() {
  return Object.values(networkInterfaces())
    .flat()
    .every((i) => i.internal);
}

export function requireLoopbackOnly() {
  if (loopbackOnly()) return;
  const others = Object.entries(networkInterfaces())
    .filter(([, addrs]) => addrs.some((a) => !a.internal))
    .map(([name]) => name);
  throw new Error(
    `this browser test needs a network namespace with only loopback (interfaces here: ${others.join(', ')}): ` +
      'run it through `node test/browser/isolated.js FILE` (npm run test:browser does)',
  );
}

// Loopback up; a multicast route for webrtc-rs's mDNS socket (the native
// client's calls abort without one, see tests/browser_interop.rs).
const SETUP = 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo';

// Every test of these files takes well under a minute on a loaded machine.
const TEST_TIMEOUT_MS = 120_000;

function main(files) {
  if (files.length === 0) {
    console.error('usage: node test/browser/isolated.js TEST_FILE…');
    return 2;
  }
  // A stuck step (a page, a server that will not close) fails its test with a
  // message instead of holding CI until its own limit.
  const nodeTest = [process.execPath, '--test', `--test-timeout=${TEST_TIMEOUT_MS}`, ...files];
  if (loopbackOnly()) {
    return spawnSync(nodeTest[0], nodeTest.slice(1), { stdio: 'inherit' }).status ?? 1;
  }
  const flags = [['--net'], ['--net', '--map-root-user']].find((f) => spawnSync('unshare', [...f, 'true']).status === 0);
  if (!flags) {
    console.error('cannot create a network namespace: unshare --net needs root or unprivileged user namespaces');
    return 1;
  }
  const run = spawnSync('unshare', [...flags, '--', 'sh', '-c', `${SETUP} && exec "$@"`, 'sh', ...nodeTest], { stdio: 'inherit' });
  return run.status ?? 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exit(main(process.argv.slice(2)));
