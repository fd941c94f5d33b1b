"""``python -m bench --ranks N``: one process with N threads against N MPI ranks with one thread each, on this machine.

For the ``mlp`` and ``cnn`` workloads (or ``--workloads``), in turns over ``--rounds`` rounds:

- **1 process, N threads**: ``fit`` as the benchmark runs it (numpy's BLAS and the engine's parts
  of each batch on N threads), in a fresh process;
- **N ranks, 1 thread each**: the same ``fit`` with ``strategy=MPIStrategy(threads=1)`` under
  ``mpiexec -n N``, the same global batch. Its all-reduce time per step is measured twice: inside
  ``fit`` (the time each step spends in the ``on_gradients_ready`` hook, which includes waiting
  for the slower rank) and alone (``MPI_Allreduce`` of a buffer of the gradient's size after a
  barrier).

Then, on paper, what one step costs across machines: the gradient's bytes (float32) and the ring
all-reduce's time at 10 Gbit/s, ``2 (N - 1) / N * bytes / bandwidth``, against the step's compute
time on one machine divided by N (each machine trains 1/N of the batch), so that one can see at
which model size and batch scaling out pays. Needs ``pip install -e ./plugins-mpi``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NETWORK_GBIT = 10.0
MACHINES = (2, 4, 8, 16)


# -- one measurement, in this process (a worker: alone, or one rank of an mpiexec job) ------------------------
def worker(workload: str, threads: int, use_mpi: bool, min_seconds: float, quick: bool) -> dict:
    """Samples per second of ``fit`` on ``workload`` (and, under MPI, the all-reduce time per step), as JSON-ready figures."""
    from threadpoolctl import threadpool_limits

    limits = threadpool_limits(limits=threads, user_api="blas")  # noqa: F841 - held for the life of the worker
    from bench.workloads import workloads

    wl = workloads("adam", "conv", 0.25 if quick else 1.0)[workload]
    X, y = wl.make_data(wl.train_samples, 1)
    model = wl.minikeras_model(0)
    strategy = None
    if use_mpi:
        from minikeras_mpi import MPIStrategy
        from mpi4py import MPI

        from minikeras_core.hooks import hookimpl

        class Timed(MPIStrategy):
            """The mpi strategy, timing its gradient hook: the all-reduce of each step, waits for the slower rank included."""

            seconds, steps = 0.0, 0

            @hookimpl
            def on_gradients_ready(self, model, grads):
                start = time.perf_counter()
                super().on_gradients_ready(model, grads)
                Timed.seconds += time.perf_counter() - start
                Timed.steps += 1

        strategy = Timed(threads=threads)

    def fit() -> None:
        model.fit(X, y, epochs=wl.epochs, batch_size=wl.batch, verbose=0, shuffle=True, strategy=strategy)

    fit()  # warm-up: first-call costs, and rank 0's weights reach every rank
    repeats = 1
    while True:
        if strategy is not None:
            strategy.comm.Barrier()
            Timed.seconds, Timed.steps = 0.0, 0
        start = time.perf_counter()
        for _ in range(repeats):
            fit()
        seconds = time.perf_counter() - start
        if strategy is not None:  # every rank must agree on whether to go on: the slowest rank's time decides
            seconds = strategy.comm.allreduce(seconds, op=MPI.MAX)
        if seconds >= min_seconds:
            break
        repeats = max(repeats + 1, int(repeats * min_seconds / max(seconds, 1e-3) * 1.2))
    steps = repeats * wl.epochs * -(-wl.train_samples // wl.batch)
    parameters = sum(w.size for w in model.get_weights())
    result = {"workload": workload, "threads": threads, "ranks": strategy.size if strategy else 1, "batch": wl.batch,
              "samples_per_second": repeats * wl.epochs * wl.train_samples / seconds, "step_seconds": seconds / steps,
              "parameters": int(parameters), "gradient_bytes": int(parameters * np.dtype(model.dtype).itemsize)}
    if strategy is not None:
        result["allreduce_in_fit_seconds"] = Timed.seconds / max(Timed.steps, 1)
        result["allreduce_alone_seconds"] = _allreduce_alone(strategy.comm, parameters, model.dtype)
        if strategy.rank != 0:
            return {}
    return result


def _allreduce_alone(comm, size: int, dtype, calls: int = 50) -> float:
    """The median seconds of one ``MPI_Allreduce`` (in place, sum) of ``size`` numbers, each after a barrier."""
    from mpi4py import MPI

    buffer = np.ones(size, dtype=dtype)
    times = []
    for _ in range(calls):
        comm.Barrier()
        start = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        times.append(time.perf_counter() - start)
    return float(comm.allreduce(statistics.median(times), op=MPI.MAX))


# -- the driver: the worker in fresh processes, in turns ------------------------------------------------------
def mpiexec() -> str | None:
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def run_worker(workload: str, mode: str, args) -> dict:
    """One measurement in fresh processes: ``mode`` "threads" (1 process, ``--ranks`` threads) or "ranks" (that many ranks)."""
    alone = mode == "threads"
    command = [sys.executable, "-m", "bench.ranks", "--worker", workload, "--threads", str(args.ranks if alone else 1),
               "--min-seconds", str(args.min_seconds)] + ([] if alone else ["--mpi"]) + (["--quick"] if args.quick else [])
    if not alone:
        command = [mpiexec(), "-n", str(args.ranks), *command]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


def ring_seconds(nbytes: int, machines: int, gbit: float = NETWORK_GBIT) -> float:
    """The ring all-reduce's bandwidth time: each machine sends and receives ``2 (N - 1) / N`` of the buffer."""
    return 2 * (machines - 1) / machines * nbytes / (gbit * 1e9 / 8)


def main(args) -> int:
    try:
        import minikeras_mpi  # noqa: F401
    except ImportError:
        print("--ranks needs the mpi strategy: pip install -e ./plugins-mpi (mpi4py and the mpich wheel)")
        return 2
    if mpiexec() is None:
        print("--ranks needs mpiexec (the mpich wheel installs it beside python)")
        return 2
    names = [w.strip() for w in (args.workloads or "mlp,cnn").split(",") if w.strip()]
    args.min_seconds = args.min_seconds or (0.5 if args.quick else 2.0)
    rounds = args.rounds or (2 if args.quick else 3)
    load = os.getloadavg()[0]
    print(f"--ranks {args.ranks}: 1 process with {args.ranks} threads against {args.ranks} ranks with 1 thread each; "
          f"{rounds} rounds in turns; {os.cpu_count()} CPUs, load average {load:.2f}"
          + (" (other work is running: expect noisy figures)" if load > 0.5 * (os.cpu_count() or 1) else ""))
    results: dict = {"ranks": args.ranks, "rounds": rounds, "network_gbit": NETWORK_GBIT, "workloads": {}}
    for name in names:
        runs: dict = {"threads": [], "ranks": []}
        for r in range(rounds):
            order = ("threads", "ranks") if r % 2 == 0 else ("ranks", "threads")
            for mode in order:
                runs[mode].append(run_worker(name, mode, args))
            print(f"  {name} round {r + 1}/{rounds}: 1 process x {args.ranks} threads {runs['threads'][-1]['samples_per_second']:,.0f}/s, "
                  f"{args.ranks} ranks x 1 thread {runs['ranks'][-1]['samples_per_second']:,.0f}/s, all-reduce "
                  f"{runs['ranks'][-1]['allreduce_in_fit_seconds'] * 1e3:.2f} ms/step in fit, "
                  f"{runs['ranks'][-1]['allreduce_alone_seconds'] * 1e3:.3f} ms alone")
        median = {mode: {key: statistics.median(run[key] for run in runs[mode]) for key in runs[mode][0] if isinstance(runs[mode][0][key], float)}
                  for mode in runs}
        first = runs["ranks"][0]
        results["workloads"][name] = {"batch": first["batch"], "parameters": first["parameters"], "gradient_bytes": first["gradient_bytes"],
                                      "median": median, "rounds": runs}
    _report(results, args.ranks)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"\nResults written to {args.json}")
    return 0


def _report(results: dict, ranks: int) -> None:
    print("\nOn this machine: samples/s of fit, the same global batch, median [range] over the rounds")
    header = (f"{'workload':<9}{'batch':>6}{f'1 process x {ranks} threads':>28}{f'{ranks} ranks x 1 thread':>28}{'ratio':>20}"
              f"{'all-reduce/step in fit':>24}{'alone':>10}")
    print(header)
    print("-" * len(header))
    for name, entry in results["workloads"].items():
        runs = entry["rounds"]
        speeds = {mode: [run["samples_per_second"] for run in runs[mode]] for mode in runs}
        ratios = [b / a for a, b in zip(speeds["threads"], speeds["ranks"])]
        ranked = entry["median"]["ranks"]
        print(f"{name:<9}{entry['batch']:>6}{_spread(speeds['threads'], ',.0f'):>28}{_spread(speeds['ranks'], ',.0f'):>28}"
              f"{_spread(ratios, '.2f'):>20}{ranked['allreduce_in_fit_seconds'] * 1e3:>21.2f} ms{ranked['allreduce_alone_seconds'] * 1e3:>7.3f} ms")
    print(f"\nOn paper, across machines on a {NETWORK_GBIT:g} Gbit/s network (ring all-reduce, bandwidth term "
          f"2(N-1)/N x bytes / bandwidth; per-message latency not counted): one step of the global batch")
    header = f"{'workload':<9}{'gradient':>10}{'compute, 1 machine':>20}" + "".join(f"{f'N={n}: all-reduce, speed-up':>28}" for n in MACHINES)
    print(header)
    print("-" * len(header))
    for name, entry in results["workloads"].items():
        compute = entry["median"]["threads"]["step_seconds"]
        cells = []
        for n in MACHINES:
            ring = ring_seconds(entry["gradient_bytes"], n)
            cells.append(f"{ring * 1e3:.2f} ms, {compute / (compute / n + ring):.1f}x")
        print(f"{name:<9}{entry['gradient_bytes'] / 2**20:>7.2f} MiB{compute * 1e3:>17.1f} ms" + "".join(f"{c:>28}" for c in cells))


def _spread(values: list[float], spec: str) -> str:
    return f"{statistics.median(values):{spec}} [{min(values):{spec}}-{max(values):{spec}}]"


def parse(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(prog="python -m bench.ranks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--mpi", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--min-seconds", type=float, default=None)
    parser.add_argument("--workloads", default=None, help="comma-separated (default mlp,cnn)")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results-ranks.json"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    options = parse()
    if options.worker:
        figures = worker(options.worker, options.threads, options.mpi, options.min_seconds or 2.0, options.quick)
        if figures:
            print(json.dumps(figures))
        sys.exit(0)
    sys.exit(main(options))
