"""Run `connector` in a child process and read its own peak memory.

The peak is the child's VmHWM from /proc.  Not getrusage's ru_maxrss: Linux carries the forking parent's
high-water mark across exec into the child, so a child forked from a benchmark that holds a whole generated
company would report the benchmark's size, not its own (this inflated our first host-sync figures fourfold).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

WRAPPER = ("import sys, runpy; sys.argv = ['connector', *sys.argv[1:]]\n"
           "try:\n    runpy.run_module('connector', run_name='__main__')\n"
           "finally:\n    print('PEAK_KB', next(line.split()[1] for line in open('/proc/self/status')"
           " if line.startswith('VmHWM')), file=sys.stderr)")


def run_connector(args: list[str], env: dict[str, str]) -> tuple[float, float, dict]:
    """(wall seconds, the child's peak RSS in MB, its `--json` output) of `connector ARGS --json`."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", WRAPPER, *args, "--json"], env=env, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"connector {' '.join(args)} failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    peak_kb = int(done.stderr.rsplit("PEAK_KB", 1)[1].split()[0])
    return seconds, peak_kb / 1024, json.loads(done.stdout)
