"""Run `connector` in a child process and read its peak memory (with that of any worker it starts).

The peak is the child's VmHWM from /proc, or, when the child runs workers of its own (a large csv folder
is read in one), the highest sum of the whole process tree's resident memory, sampled every 20 ms.
Not getrusage's ru_maxrss: Linux carries the forking parent's high-water mark across exec into the child,
so a child forked from a benchmark that holds a whole generated company would report the benchmark's size,
not its own (this inflated our first host-sync figures fourfold).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

WRAPPER = ("import sys, runpy; sys.argv = ['connector', *sys.argv[1:]]\n"
           "try:\n    runpy.run_module('connector', run_name='__main__')\n"
           "finally:\n    print('PEAK_KB', next(line.split()[1] for line in open('/proc/self/status')"
           " if line.startswith('VmHWM')), file=sys.stderr)")


def run_connector(args: list[str], env: dict[str, str]) -> tuple[float, float, dict]:
    """(wall seconds, peak RSS in MB of the child and its workers, its `--json` output) of `connector ARGS --json`."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", WRAPPER, *args, "--json"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tree_peak_kb = [0]
    sampler = threading.Thread(target=_sample_tree, args=(process, tree_peak_kb), daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    sampler.join()
    if process.returncode != 0:
        sys.exit(f"connector {' '.join(args)} failed ({process.returncode}): {stdout[-2000:]} {stderr[-2000:]}")
    peak_kb = max(int(stderr.rsplit("PEAK_KB", 1)[1].split()[0]), tree_peak_kb[0])
    return seconds, peak_kb / 1024, json.loads(stdout)


def _sample_tree(process: subprocess.Popen[str], peak_kb: list[int]) -> None:
    while process.poll() is None:
        peak_kb[0] = max(peak_kb[0], sum(_rss_kb(pid) for pid in _tree(process.pid)))
        time.sleep(0.02)


def _tree(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            children = [int(child) for child in handle.read().split()]
    except OSError:
        return []
    return [pid, *(grandchild for child in children for grandchild in _tree(child))]


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS"))
    except (OSError, StopIteration):
        return 0
