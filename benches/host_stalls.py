#!/usr/bin/env python3
"""Runs a command while the host stalls, as when the hypervisor steals the CPU.

Steal cannot be made on demand, and it is what fails timed tests on CI (docs/quality.md,
"The host's stolen CPU time"). Its stand-in: on every core, a SCHED_FIFO spinner takes the
CPU for a while at random times. All spinners share one seed and one start second, so the
cores stall together, as a paused VM does; the same seed gives the same pattern, so two
builds can be compared beside the same stalls.

    benches/host_stalls.py [--seed N] [--stall-ms 40-150] [--gap-ms 300-1500] -- CMD ARGS...

Needs root (SCHED_FIFO). The kernel's RT throttling (sched_rt_runtime_us, 95 % by default)
keeps a spinner from locking a core up for good. The defaults stall about 10 % of the time.
"""

import argparse
import os
import random
import signal
import subprocess
import sys
import time


def spin(seed: int, start: float, stall: tuple, gap: tuple) -> None:
    rng = random.Random(seed)
    at = start
    while True:
        at += rng.uniform(*gap) / 1000.0
        end = at + rng.uniform(*stall) / 1000.0
        wait = at - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        while time.monotonic() < end:
            pass


def range_ms(text: str) -> tuple:
    low, _, high = text.partition("-")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected MS or MIN-MAX in ms")
    if not 0 < bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 0 < MIN <= MAX")
    return bounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stall-ms", type=range_ms, default=(40.0, 150.0))
    parser.add_argument("--gap-ms", type=range_ms, default=(300.0, 1500.0))
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (put it after --)")
    # Whole seconds, so that spinners started a few ms apart share every stall.
    start = time.monotonic() // 1 + 1
    # Each spinner reports whether it got its core and priority: a comparison run beside
    # spinners that silently failed would measure a quiet host.
    ready, report = os.pipe()
    spinners = []
    for cpu in sorted(os.sched_getaffinity(0)):
        pid = os.fork()
        if pid == 0:
            os.close(ready)
            try:
                os.sched_setaffinity(0, {cpu})
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
            except OSError as err:
                os.write(report, f"core {cpu}: {err}\n".encode())
                os._exit(1)
            os.write(report, b"ok\n")
            os.close(report)
            spin(args.seed, start, args.stall_ms, args.gap_ms)
        spinners.append(pid)
    os.close(report)
    try:
        with os.fdopen(ready) as replies:
            failed = [line.strip() for line in replies if line.strip() != "ok"]
        if failed:
            print(f"host_stalls: no spinner (SCHED_FIFO needs root): {failed}", file=sys.stderr)
            return 2
        return subprocess.call(command)
    finally:
        for pid in spinners:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


if __name__ == "__main__":
    sys.exit(main())
