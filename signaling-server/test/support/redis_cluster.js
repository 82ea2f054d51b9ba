// A throwaway Redis Cluster on 127.0.0.1 for tests and benchmarks: N
// masters (default 3) with R replicas each (default 1), Debian's
// redis-server in cluster mode, no persistence, state in a temp dir.
//
// Built with CLUSTER ADDSLOTSRANGE / MEET / REPLICATE over plain RESP rather
// than `redis-cli --cluster create`, which sleeps a second per check; here
// every wait polls a condition with a deadline, so a cluster is up in well
// under a second on an idle machine.
//
// As a module:   const c = await startRedisCluster({ masters: 3, replicas: 1 });
//                c.seeds  → "redis://127.0.0.1:7000,redis://127.0.0.1:7001,…"
//                await c.failover(c.masterFor('some-key').port)  // kill + promotion
//                await c.stop();
// As a program (for tests in other languages, e.g. the Rust client's):
//   node signaling-server/test/support/redis_cluster.js [--masters 3] [--replicas 1]
//        [--base-port P] [--node-timeout-ms 1000]
// prints one JSON line {"msg":"cluster ready","seeds":…,"nodes":[…]} on
// stdout, then reads commands from stdin, one per line, answering each with
// one JSON line:
//   master-of <key>   → {"msg":"master","key":…,"port":…}: the master now
//                     holding <key>'s slot (e.g. voicecall:id:{alice})
//   failover <port>   SIGKILL the master on <port>, wait until a replica
//                     took its slots → {"msg":"failed over","killed":…,"promoted":…}
//   nodes             → {"msg":"nodes","nodes":[{port,pid,role,alive},…]}
//   stop              stop every server and exit (so does stdin closing)

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { REDIS_SERVER, freePort } from './redis.js';

const SLOTS = 16384;
const tick = () => new Promise((r) => setTimeout(r, 20));

/** Minimal RESP client: one command at a time, replies as JS values. */
export function respCommand(port, args, { timeoutMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`redis :${port} ${args[0]}: no reply in ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => {
      sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`);
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const parsed = parseResp(buf, 0);
      if (!parsed) return;
      clearTimeout(timer);
      sock.destroy();
      if (parsed.value instanceof Error) reject(parsed.value);
      else resolve(parsed.value);
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

// Returns {value, end} or null when `buf` does not yet hold a whole reply.
function parseResp(buf, at) {
  const nl = buf.indexOf('\r\n', at);
  if (nl < 0) return null;
  const type = String.fromCharCode(buf[at]);
  const line = buf.toString('utf8', at + 1, nl);
  const next = nl + 2;
  if (type === '+') return { value: line, end: next };
  if (type === '-') return { value: new Error(line), end: next };
  if (type === ':') return { value: Number(line), end: next };
  if (type === '$') {
    const len = Number(line);
    if (len < 0) return { value: null, end: next };
    if (buf.length < next + len + 2) return null;
    return { value: buf.toString('utf8', next, next + len), end: next + len + 2 };
  }
  if (type === '*') {
    const n = Number(line);
    if (n < 0) return { value: null, end: next };
    const out = [];
    let pos = next;
    for (let i = 0; i < n; i++) {
      const item = parseResp(buf, pos);
      if (!item) return null;
      out.push(item.value);
      pos = item.end;
    }
    return { value: out, end: pos };
  }
  throw new Error(`unexpected RESP type ${type}`);
}

async function waitFor(what, predicate, ms) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      if (await predicate()) return;
    } catch (err) {
      last = err;
    }
    await tick();
  }
  throw new Error(`redis cluster: ${what} not reached in ${ms} ms${last ? ` (last error: ${last.message})` : ''}`);
}

const ping = (port) => respCommand(port, ['PING'], { timeoutMs: 500 }).then((r) => r === 'PONG', () => false);

async function spawnNode(dir, port, nodeTimeoutMs) {
  const child = spawn(
    REDIS_SERVER,
    [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--dbfilename', `dump-${port}.rdb`, '--loglevel', 'warning',
      '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
      '--cluster-node-timeout', String(nodeTimeoutMs),
      // A replica may take over however long it was cut off: in a test it
      // always has the latest data anyway.
      '--cluster-replica-validity-factor', '0',
      // Replicas sync at once instead of after the default 5 s batching delay.
      '--repl-diskless-sync-delay', '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const node = { port, pid: child.pid, child, alive: true, output: () => output };
  node.exited = new Promise((resolve) => child.once('exit', () => resolve((node.alive = false))));
  const deadline = Date.now() + 5000;
  while (node.alive && Date.now() < deadline && !(await ping(port))) await tick();
  if (!node.alive || !(await ping(port))) {
    child.kill('SIGKILL');
    await node.exited;
    const err = new Error(`redis-server on ${port} did not start: ${output}`);
    err.portInUse = /in use/i.test(output);
    throw err;
  }
  return node;
}

/** CLUSTER NODES as [{id, port, flags, master, slots}] (as one node sees it). */
async function clusterNodes(port) {
  const text = await respCommand(port, ['CLUSTER', 'NODES']);
  return text.trim().split('\n').map((line) => {
    const f = line.split(' ');
    return { id: f[0], port: Number(f[1].split(':')[1].split('@')[0]), flags: f[2].split(','), master: f[3], slots: f.slice(8) };
  });
}

const info = async (port, section) =>
  Object.fromEntries((await respCommand(port, ['INFO', section])).split('\r\n').filter((l) => l.includes(':')).map((l) => l.split(/:(.*)/s).slice(0, 2)));

/**
 * @param {object} [opts]
 * @param {number} [opts.masters] 3
 * @param {number} [opts.replicas] replicas per master, 1
 * @param {number} [opts.basePort] consecutive ports from here; default: free ports
 * @param {number} [opts.nodeTimeoutMs] cluster-node-timeout: how long a
 *   master must be unreachable before its replica takes over
 */
export async function startRedisCluster({ masters = 3, replicas = 1, basePort, nodeTimeoutMs = 1000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'vc-redis-cluster-'));
  const total = masters * (1 + replicas);
  const nodes = [];
  try {
    for (let i = 0; i < total; i++) {
      for (let attempt = 0; ; attempt++) {
        const port = basePort ? basePort + i : await freePort();
        try {
          nodes.push(await spawnNode(dir, port, nodeTimeoutMs));
          break;
        } catch (err) {
          // A free port taken between freePort() and redis binding it: retry.
          if (basePort || !err.portInUse || attempt >= 4) throw err;
        }
      }
    }
    for (const n of nodes) n.id = await respCommand(n.port, ['CLUSTER', 'MYID']);
    const per = Math.ceil(SLOTS / masters);
    for (let m = 0; m < masters; m++) {
      const from = m * per;
      const to = Math.min(SLOTS, from + per) - 1;
      await respCommand(nodes[m].port, ['CLUSTER', 'ADDSLOTSRANGE', from, to]);
      // Distinct epochs, as redis-cli does, so no collision has to be resolved.
      await respCommand(nodes[m].port, ['CLUSTER', 'SET-CONFIG-EPOCH', m + 1]);
      nodes[m].role = 'master';
      nodes[m].slots = [from, to];
    }
    for (const n of nodes.slice(1)) await respCommand(nodes[0].port, ['CLUSTER', 'MEET', '127.0.0.1', n.port]);
    await waitFor('every node knowing every other', async () => {
      for (const n of nodes) {
        const known = await clusterNodes(n.port);
        if (known.length !== total || known.some((k) => k.flags.includes('handshake') || k.flags.includes('noaddr'))) return false;
      }
      return true;
    }, 10_000);
    for (let i = masters; i < total; i++) {
      const master = nodes[(i - masters) % masters];
      await respCommand(nodes[i].port, ['CLUSTER', 'REPLICATE', master.id]);
      nodes[i].role = 'replica';
      nodes[i].masterId = master.id;
    }
    await waitFor('cluster_state:ok with every replica in sync', async () => {
      for (const n of nodes) {
        if ((await info(n.port, 'cluster')).cluster_enabled !== '1') return false;
        const state = await respCommand(n.port, ['CLUSTER', 'INFO']);
        if (!state.includes('cluster_state:ok')) return false;
        if (n.role === 'replica' && (await info(n.port, 'replication')).master_link_status !== 'up') return false;
      }
      // Every node must also see every replica attached, or a failover
      // right after startup would find no candidate.
      const view = await clusterNodes(nodes[0].port);
      return view.filter((k) => k.flags.includes('slave')).length === total - masters;
    }, 15_000);
  } catch (err) {
    for (const n of nodes) n.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const alive = () => nodes.filter((n) => n.alive);
  const cluster = {
    nodes,
    dir,
    /** Comma-separated redis:// URLs of every node: REDIS_CLUSTER_NODES. */
    get seeds() {
      return nodes.map((n) => `redis://127.0.0.1:${n.port}`).join(',');
    },
    /** The live node currently holding `slot` as master, asked of any live node. */
    async masterOfSlot(slot) {
      for (const n of alive()) {
        try {
          const view = await clusterNodes(n.port);
          for (const k of view) {
            if (!k.flags.includes('master') || k.flags.includes('fail')) continue;
            for (const range of k.slots) {
              const [a, b = a] = range.split('-').map(Number);
              if (slot >= a && slot <= b) return nodes.find((x) => x.port === k.port);
            }
          }
          return null;
        } catch {
          // that node is going away: ask the next
        }
      }
      return null;
    },
    /** The live master holding `key`'s slot. */
    async masterOfKey(key) {
      const slot = await respCommand(alive()[0].port, ['CLUSTER', 'KEYSLOT', key]);
      return cluster.masterOfSlot(slot);
    },
    /** Live masters, as the cluster now sees them. */
    async masters() {
      const view = await clusterNodes(alive()[0].port);
      return view.filter((k) => k.flags.includes('master') && !k.flags.includes('fail') && k.slots.length).map((k) => nodes.find((x) => x.port === k.port));
    },
    /** INFO <section> of one node as an object. */
    info: (port, section) => info(port, section),
    command: (port, args) => respCommand(port, args),

    /**
     * SIGKILL the master on `port` and wait until one of its replicas holds
     * its slots and every live node agrees. Returns the promoted node.
     */
    async failover(port, { timeoutMs = 20_000 } = {}) {
      const victim = nodes.find((n) => n.port === port);
      if (!victim?.alive) throw new Error(`no live node on ${port}`);
      const slot = (await clusterNodes(port)).find((k) => k.flags.includes('myself')).slots[0];
      if (!slot) throw new Error(`node ${port} is not a master with slots`);
      const firstSlot = Number(slot.split('-')[0]);
      victim.child.kill('SIGKILL');
      await victim.exited;
      let promoted = null;
      await waitFor(`a replica of :${port} taking over`, async () => {
        for (const n of alive()) {
          const owner = (await clusterNodes(n.port)).find((k) =>
            k.flags.includes('master') && !k.flags.includes('fail') && k.slots.some((r) => {
              const [a, b = a] = r.split('-').map(Number);
              return firstSlot >= a && firstSlot <= b;
            }));
          if (!owner || owner.port === port) return false;
          if (!(await respCommand(n.port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok')) return false;
          promoted = nodes.find((x) => x.port === owner.port);
        }
        return true;
      }, timeoutMs);
      promoted.role = 'master';
      victim.role = 'dead';
      return promoted;
    },

    async stop() {
      for (const n of nodes) if (n.alive) n.child.kill('SIGKILL');
      await Promise.all(nodes.map((n) => n.exited));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

// --- as a program -----------------------------------------------------------

async function main(argv) {
  const opt = (name, dflt) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
  const describe = (c) => c.nodes.map((n) => ({ port: n.port, pid: n.pid, role: n.role, alive: n.alive }));
  const cluster = await startRedisCluster({
    masters: opt('masters', 3),
    replicas: opt('replicas', 1),
    basePort: opt('base-port', undefined),
    nodeTimeoutMs: opt('node-timeout-ms', 1000),
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await cluster.stop();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  say({ msg: 'cluster ready', seeds: cluster.seeds, nodes: describe(cluster) });
  const lines = createInterface({ input: process.stdin });
  lines.on('close', stop);
  for await (const line of lines) {
    const [cmd, arg] = line.trim().split(/\s+/);
    try {
      if (cmd === 'master-of') {
        const m = await cluster.masterOfKey(arg);
        say({ msg: 'master', key: arg, port: m?.port ?? null });
      } else if (cmd === 'failover') {
        const promoted = await cluster.failover(Number(arg));
        say({ msg: 'failed over', killed: Number(arg), promoted: promoted.port });
      } else if (cmd === 'nodes') {
        say({ msg: 'nodes', nodes: describe(cluster) });
      } else if (cmd === 'stop') {
        await stop();
      } else if (cmd) {
        say({ msg: 'error', error: `unknown command ${JSON.stringify(cmd)}: master-of <key> | failover <port> | nodes | stop` });
      }
    } catch (err) {
      say({ msg: 'error', error: err.message });
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
}
