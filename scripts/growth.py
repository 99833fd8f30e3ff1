#!/usr/bin/env python3
"""Measures how every command's cost grows when one dimension of the input grows.

    scripts/growth.py TEMPER [RUNS] [DIMENSION...]   RUNS per figure, default 3; every
                                                     dimension unless some are named

For each dimension of scripts/gen-dimension.py, three sizes (each twice the one before), and
each command (render; check in text, json and sarif; diff; promote), it takes the median wall
time and peak memory of RUNS runs, and prints a markdown table.

The growth column is the cost per unit of the largest size over the cost per unit of the size
before it: (t(2n) / t(n)) / 2. A linear cost gives 1.00; a cost that grows as n² gives 2.00.
Anything over 1.3 is a finding to fix. The process start-up cost (about the same at every size)
is measured on an empty stream and taken off every time before the ratio, so that it does not
flatter small inputs. Memory is treated the same way in two more columns: the peak above the
empty stream's peak (the floor: the binary's code, the C library, the configuration) per byte
of input, and how that grows over the last doubling.
"""

import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# Sizes chosen so the largest input takes a few hundred milliseconds to render on two cores:
# long enough that start-up does not dominate, short enough to run everything in minutes.
SIZES = {
    "documents": [2000, 4000, 8000],
    "env": [10000, 20000, 40000],
    "containers": [800, 1600, 3200],
    "violations": [800, 1600, 3200],
    "size": [10000, 20000, 40000],
    "namespaces": [1000, 2000, 4000],
    "selectors": [500, 1000, 2000],
    "generated": [1000, 2000, 4000],
}


def commands(temper, path):
    base = [temper]
    return {
        "render": base + ["render", "--no-enforce", "-q", "--env", "prod", "-f", path],
        "check text": base + ["check", "--env", "prod", "--format", "text", "-f", path],
        "check json": base + ["check", "--env", "prod", "--format", "json", "-f", path],
        "check sarif": base + ["check", "--env", "prod", "--format", "sarif", "-f", path],
        "diff": base + ["diff", "--no-enforce", "--env", "prod", "-f", path],
        "promote": base + ["promote", "--from", "dev", "--to", "prod", "-f", path],
    }


def measure(cmd, runs):
    """Median wall seconds and median peak RSS (bytes) of `runs` runs of `cmd`."""
    times, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        # GNU time reports the child's own peak, unlike RUSAGE_CHILDREN's running maximum.
        proc = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1, 3):
            sys.exit(f"growth.py: {' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
        peaks.append(int(proc.stderr.strip().splitlines()[-1]) * 1024)
    times.sort()
    peaks.sort()
    return times[len(times) // 2], peaks[len(peaks) // 2]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    temper = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    only = set(sys.argv[3:])
    unknown = only - set(SIZES)
    if unknown:
        sys.exit(f"growth.py: no dimension {', '.join(sorted(unknown))} (there are {', '.join(SIZES)})")
    work = tempfile.mkdtemp(prefix="temper-growth-")
    empty = os.path.join(work, "empty.yaml")
    with open(empty, "w") as f:
        f.write("---\n")
    start = {name: measure(cmd, runs) for name, cmd in commands(temper, empty).items()}
    startup = {name: t for name, (t, _) in start.items()}
    # The peak of a run that reads nothing: the binary's code, the C library, the configuration.
    floor = {name: peak for name, (_, peak) in start.items()}
    rows = []
    worst = (0.0, "")
    worst_memory = (0.0, "")
    for dimension, sizes in SIZES.items():
        if only and dimension not in only:
            continue
        files = []
        for n in sizes:
            path = os.path.join(work, f"{dimension}-{n}.yaml")
            with open(path, "w") as f:
                subprocess.run([sys.executable, os.path.join(HERE, "gen-dimension.py"), dimension, str(n)],
                               stdout=f, check=True)
            files.append(path)
        for name in commands(temper, empty):
            results = [measure(commands(temper, p)[name], runs) for p in files]
            net = [max(t - startup[name], 1e-6) for t, _ in results]
            growth = (net[-1] / net[-2]) / (sizes[-1] / sizes[-2])
            size_bytes = os.path.getsize(files[-1])
            memory = results[-1][1] / size_bytes
            # Memory above the floor, per byte of input, and how it grows over the last doubling.
            held = [max(peak - floor[name], 1) for _, peak in results]
            above = held[-1] / size_bytes
            memory_growth = (held[-1] / held[-2]) / (sizes[-1] / sizes[-2])
            label = f"{dimension}, {name}"
            if growth > worst[0]:
                worst = (growth, label)
            if memory > worst_memory[0]:
                worst_memory = (memory, label)
            times = " / ".join(f"{t:.3f}" for t, _ in results)
            flag = " **over 1.3**" if growth > 1.3 else ""
            rows.append(f"| {dimension} | {name} | {' / '.join(map(str, sizes))} | {size_bytes / 1048576:.1f} | "
                        f"{times} | {growth:.2f}{flag} | {results[-1][1] / 1048576:.0f} | {memory:.1f}× | "
                        f"{above:.1f}× | {memory_growth:.2f} |")
            print(f"growth.py: {label}: {times} s, growth {growth:.2f}", file=sys.stderr)
    print("| dimension | command | n | largest MB | median s at each n | growth per doubling | peak MB | peak / input "
          "| above floor / input | memory growth per doubling |")
    print("|---|---|---|---:|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print()
    print(f"Start-up (empty stream), subtracted before the growth ratio: "
          + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in startup.items()))
    print(f"Floor (the empty stream's peak), subtracted for the memory columns: "
          + ", ".join(f"{k} {v / 1048576:.1f} MB" for k, v in floor.items()))
    print(f"Worst growth per doubling: {worst[0]:.2f} ({worst[1]}); "
          f"worst peak memory over input: {worst_memory[0]:.1f}× ({worst_memory[1]})")


if __name__ == "__main__":
    main()
