"""Mini-Keras against PyTorch on the CPU: training and prediction speed, peak memory, BLAS rate.

Run from the repository root (see the README's "Benchmark" section)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python -m bench [--quick] [--optimizer sgd]

How it measures:

- Speed: both frameworks run in this process with the same number of threads (numpy's BLAS
  threads, read with threadpoolctl; ``torch.set_num_threads`` is set to match). Each round times
  training passes (``fit`` for Mini-Keras; the usual zero_grad/backward/step loop with a shuffled
  index for PyTorch), then predictions in chunks of 256 samples, enough back-to-back calls of
  each to last about ``--min-seconds``, one framework after the other (which goes first alternates
  by round) so that drift of the machine hits both, with a 0.2 s pause before each timing so
  that neither runs while the other's idle threads still spin. The ratio Mini-Keras / PyTorch is
  taken per round; the median and range are reported.
- Memory: each (framework, workload, phase) runs in a fresh subprocess. Its baseline is the resident
  set after importing the framework, making the data and one tiny warm-up step (so one-time
  library set-up is not charged to the workload); for prediction the model is built before the
  baseline too. The kernel's peak (VmHWM) is then reset to the baseline and read after the phase:
  the figure is what training (building the model, gradients, optimizer state, intermediate
  arrays) or prediction (intermediate arrays, output) added at its peak.
- BLAS rate: the eight matrix products of one MLP training step (forward, weight gradients, input
  gradients of layers 2 and 3) timed on their own in numpy, in GFLOP/s; the fraction of it that
  Mini-Keras's MLP training reaches counts those same FLOPs per sample.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.workloads import OPTIMIZERS, Workload, workloads
else:
    from .workloads import OPTIMIZERS, Workload, workloads

ROOT = Path(__file__).resolve().parent.parent
PREDICT_BATCH = 256
TORCH_PIP = ".venv/bin/pip install torch==2.13.0"


# -- environment --------------------------------------------------------------------------------
def try_torch():
    """Return the torch module, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def blas_info() -> list[dict]:
    """numpy's BLAS libraries as threadpoolctl reports them (library, version, kernel, threads)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        {k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer", "filepath")}
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]


def set_threads(threads: int | None, torch_too: bool = True) -> int:
    """Fix numpy's BLAS threads (when given) and set PyTorch's to the same count; return it."""
    count = threads
    if threads is not None:
        from threadpoolctl import threadpool_limits

        set_threads._limits = threadpool_limits(limits=threads, user_api="blas")  # keep it alive
    else:
        info = blas_info()
        count = info[0]["num_threads"] if info else os.cpu_count()
    torch = try_torch() if torch_too else None
    if torch is not None:
        torch.set_num_threads(int(count))
    return int(count)


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    torch = try_torch()
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": None if torch is None else torch.__version__,
        "blas": blas_info(),
        "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")},
    }


# -- raw matrix-product rate ----------------------------------------------------------------------
def mlp_matmuls(batch: int = 128, sizes: tuple = (784, 256, 128, 10)) -> list[tuple[tuple, tuple, bool, bool]]:
    """The products of one MLP training step as ``(a_shape, b_shape, transpose_a, transpose_b)``.

    Forward ``X W`` per layer; backward ``X^T G`` per layer and ``G W^T`` for every layer but the first.
    """
    products = [((batch, i), (i, o), False, False) for i, o in zip(sizes, sizes[1:])]
    products += [((batch, i), (batch, o), True, False) for i, o in zip(sizes, sizes[1:])]
    products += [((batch, o), (i, o), False, True) for i, o in list(zip(sizes, sizes[1:]))[1:]]
    return products


def step_flops(products) -> int:
    total = 0
    for a, b, ta, tb in products:
        m, k = (a[1], a[0]) if ta else a
        n = b[0] if tb else b[1]
        total += 2 * m * k * n
    return total


def matmul_rate(seconds: float = 0.5, repeats: int = 5) -> dict:
    """Best-of-``repeats`` GFLOP/s of numpy float32 running the MLP step's products back to back."""
    rng = np.random.default_rng(0)
    products = mlp_matmuls()
    cases = []
    for a, b, ta, tb in products:
        A = rng.random(a, dtype=np.float32)
        B = rng.random(b, dtype=np.float32)
        A, B = (A.T if ta else A), (B.T if tb else B)
        cases.append((A, B, np.empty((A.shape[0], B.shape[1]), np.float32)))
    flops = step_flops(products)
    best = float("inf")
    for _ in range(repeats):
        count, start = 0, time.perf_counter()
        while True:
            for A, B, out in cases:
                np.matmul(A, B, out=out)
            count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds / repeats:
                break
        best = min(best, elapsed / count)
    return {"gflops": flops / best / 1e9, "flops_per_step": flops, "batch": 128,
            "products": [[list(a), list(b), ta, tb] for a, b, ta, tb in products]}


# -- one framework, one workload --------------------------------------------------------------------
class MiniKerasRunner:
    name = "minikeras"

    def __init__(self, wl: Workload, seed: int = 0) -> None:
        self.wl = wl
        self.model = wl.minikeras_model(seed)

    def data(self, n: int, seed: int):
        return self.wl.make_data(n, seed)

    def train(self, X, y) -> float:
        history = self.model.fit(X, y, n_epochs=self.wl.epochs, batch_size=self.wl.batch, verbose=0, shuffle=True)
        return history.history["loss"][-1]

    def loss(self, X, y) -> float:
        return self.model.evaluate(X, y)[0]

    def predict(self, X):
        return self.model.predict(X, batch_size=PREDICT_BATCH)


class TorchRunner:
    name = "pytorch"

    def __init__(self, wl: Workload, seed: int = 0) -> None:
        import torch

        self.torch = torch
        self.wl = wl
        self.net, self.loss_fn, self.opt, self.head = wl.torch_model(seed)
        self.binary = wl.loss == "binary_cross_entropy"

    def data(self, n: int, seed: int):
        """The same numbers as Mini-Keras's data, images moved to channels-first; class ids for cross-entropy."""
        X, y = self.wl.make_data(n, seed)
        if X.ndim == 4:
            X = X.transpose(0, 3, 1, 2)
        X = self.torch.from_numpy(np.ascontiguousarray(X))
        y = self.torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32) if self.binary else y.argmax(axis=1))
        return X, y

    def train(self, X, y) -> float:
        torch, n, batch = self.torch, len(X), self.wl.batch
        self.net.train()
        for _ in range(self.wl.epochs):
            order = torch.randperm(n)
            total = 0.0
            for start in range(0, n, batch):
                index = order[start : start + batch]
                loss = self.loss_fn(self.net(X[index]), y[index])
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
                total += loss.item() * len(index)
        return total / n

    def loss(self, X, y) -> float:
        with self.torch.inference_mode():
            return float(self.loss_fn(self.net(X), y))

    def predict(self, X):
        torch = self.torch
        self.net.eval()
        with torch.inference_mode():
            first = self.head(self.net(X[:PREDICT_BATCH]))
            out = torch.empty((len(X),) + tuple(first.shape[1:]), dtype=first.dtype)
            out[: len(first)] = first
            for start in range(PREDICT_BATCH, len(X), PREDICT_BATCH):
                out[start : start + PREDICT_BATCH] = self.head(self.net(X[start : start + PREDICT_BATCH]))
        return out


RUNNERS = {"minikeras": MiniKerasRunner, "pytorch": TorchRunner}


# -- memory: one phase in a fresh process ------------------------------------------------------------
def child(framework: str, workload: str, phase: str, optimizer: str, seed_model: str, scale: float, threads: int) -> dict:
    """Run one phase in this (fresh) process and return how far it raised the resident set, in MiB.

    The baseline is the resident set after importing the framework, making the data, a tiny warm-up
    step (one-time library set-up) and, for prediction only, building the model; the
    kernel's high-water mark (VmHWM) is reset to it through ``/proc/self/clear_refs`` so that
    transient peaks of the imports do not hide the workload's. Without that file (not Linux),
    ``ru_maxrss`` is used, which may then understate small workloads.
    """
    set_threads(threads, torch_too=framework == "pytorch")
    wl = workloads(optimizer, seed_model, scale)[workload]
    runner_cls = RUNNERS[framework]
    n = wl.train_samples if phase == "train" else wl.predict_samples
    data = runner_cls.data(_Bare(runner_cls, wl), n, 1 if phase == "train" else 2)
    _warm_up(framework)
    runner = None if phase == "train" else runner_cls(wl)  # predicting: the (trained) model exists already
    gc.collect()
    reset = _reset_peak()
    baseline = _status_kib("VmRSS") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if phase == "train":  # training: building the model, its gradients and optimizer state count
        runner_cls(wl).train(*data)
    else:
        runner.predict(data[0])
    peak = _status_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"baseline_mib": baseline / 1024, "peak_mib": peak / 1024, "delta_mib": (peak - baseline) / 1024,
            "method": "VmHWM after clear_refs" if reset else "ru_maxrss"}


def _warm_up(framework: str) -> None:
    """One training step and one prediction of a tiny model, so one-time library set-up counts in the baseline."""
    import minikeras_core as mk

    X = np.ones((4, 3), np.float32)
    y = np.eye(2, dtype=np.float32)[[0, 1, 0, 1]]
    if framework == "pytorch":
        import torch

        net = torch.nn.Linear(3, 2)
        torch.nn.functional.cross_entropy(net(torch.from_numpy(X)), torch.tensor([0, 1, 0, 1])).backward()
        torch.optim.SGD(net.parameters(), lr=0.1).step()
        with torch.inference_mode():
            net(torch.from_numpy(X))
    else:
        model = mk.Sequential(seed=0)
        model.add("dense", units=2, activation="softmax", input_size=(3,))
        model.compile("categorical_cross_entropy", optimizer="sgd")
        model.fit(X, y, verbose=0)
        model.predict(X)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


class _Bare:
    """Just enough of a runner to make its data before the model exists (so the model counts in the peak)."""

    def __init__(self, runner_cls, wl):
        self.wl = wl
        self.binary = wl.loss == "binary_cross_entropy"
        if runner_cls is TorchRunner:
            import torch

            self.torch = torch


def measure_memory(framework: str, workload: str, phase: str, args) -> dict:
    command = [sys.executable, "-m", "bench", "--child", framework, workload, phase,
               "--optimizer", args.optimizer, "--seed-model", args.seed_model, "--threads", str(args.threads)]
    if args.quick:
        command.append("--quick")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.returncode}"}
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- the benchmark ---------------------------------------------------------------------------------
def summarize(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "rounds": values}


def bench_workload(wl: Workload, frameworks: list[str], rounds: int, log, min_seconds: float) -> dict:
    runners = {name: RUNNERS[name](wl) for name in frameworks}
    train = {name: runner.data(wl.train_samples, 1) for name, runner in runners.items()}
    test = {name: runner.data(wl.predict_samples, 2) for name, runner in runners.items()}
    result: dict = {name: {"train_sps": [], "predict_sps": []} for name in frameworks}
    repeats: dict = {}
    for name, runner in runners.items():  # warm up (first-call costs, caches) and size each timing to min_seconds
        result[name]["loss_before"] = runner.loss(*train[name])
        start = time.perf_counter()
        while time.perf_counter() - start < min_seconds:
            runner.train(*train[name])
            runner.predict(test[name][0])
        repeats[name] = {
            "train": max(1, int(np.ceil(min_seconds / _timed(runner.train, train[name])))),
            "predict": max(1, int(np.ceil(min_seconds / _timed(runner.predict, test[name][:1])))),
        }
    inputs = {"train": train, "predict": {name: test[name][:1] for name in frameworks}}
    samples = {"train": wl.train_samples * wl.epochs, "predict": wl.predict_samples}
    for r in range(rounds):
        order = frameworks if r % 2 == 0 else frameworks[::-1]
        for phase in ("train", "predict"):
            calls = {name: (getattr(runners[name], phase), inputs[phase][name]) for name in order}
            seconds = _in_turn(calls, {name: repeats[name][phase] for name in order})
            for name in order:
                result[name][f"{phase}_sps"].append(repeats[name][phase] * samples[phase] / seconds[name])
        log(f"  round {r + 1}/{rounds}: " + ", ".join(
            f"{name} train {result[name]['train_sps'][-1]:,.0f}/s predict {result[name]['predict_sps'][-1]:,.0f}/s" for name in order))
    for name, runner in runners.items():
        result[name]["loss_after"] = runner.loss(*train[name])
        result[name]["train"] = summarize(result[name].pop("train_sps"))
        result[name]["predict"] = summarize(result[name].pop("predict_sps"))
        result[name]["repeats"] = repeats[name]
    if "pytorch" in runners:
        for phase in ("train", "predict"):
            ratios = [a / b for a, b in zip(result["minikeras"][phase]["rounds"], result["pytorch"][phase]["rounds"])]
            result.setdefault("ratio", {})[phase] = summarize(ratios)
    return result


#: Seconds to wait before timing a framework, so that the threads the other framework (or the
#: other phase) just used stop spinning: OpenBLAS's idle threads busy-wait about 0.1 s before
#: they sleep, and meanwhile take cores from whoever runs next.
SETTLE_SECONDS = 0.2


def _in_turn(calls: dict, repeats: dict) -> dict:
    """Seconds each framework's ``repeats[name]`` back-to-back calls took, the frameworks in ``calls``' order.

    Before each framework's run the machine is left idle for ``SETTLE_SECONDS``. Without that
    pause, the run after a switch of framework shares the cores with the previous framework's
    spinning threads: taking turns call by call measured PyTorch's MLP up to 2x slower.
    """
    seconds = {}
    for name, (fn, args) in calls.items():
        if len(calls) > 1:  # alone, a framework only follows itself
            time.sleep(SETTLE_SECONDS)
        seconds[name] = _timed(fn, args, repeats[name])
    return seconds


def _timed(fn, args: tuple, repeats: int = 1) -> float:
    """Seconds taken by ``repeats`` calls of ``fn(*args)``."""
    start = time.perf_counter()
    for _ in range(repeats):
        fn(*args)
    return time.perf_counter() - start


def fmt_range(summary: dict, digits: int = 2) -> str:
    return f"{summary['median']:.{digits}f} [{summary['min']:.{digits}f}-{summary['max']:.{digits}f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run: fewer rounds and samples")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per workload (default 5, 3 with --quick)")
    parser.add_argument("--workloads", default="mlp,cnn,rnn,seed,lstm,cnn_bn", help="comma-separated subset of mlp,cnn,rnn,seed,lstm,cnn_bn")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam",
                        help="optimizer of mlp, cnn and rnn (default adam; sgd is the fallback while adam is not installed)")
    parser.add_argument("--seed-model", choices=("conv", "dense"), default="conv",
                        help="seed workload: the original Conv2D model, or the demo's Dense stand-in while conv2d is not installed")
    parser.add_argument("--threads", type=int, default=None, help="threads for both frameworks (default: numpy's BLAS threads)")
    parser.add_argument("--min-seconds", type=float, default=None,
                        help="each timed measurement repeats its pass to last at least this long (default 0.5, 0.15 with --quick)")
    parser.add_argument("--no-torch", action="store_true", help="measure Mini-Keras alone")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results.json"), help="where to write the results")
    parser.add_argument("--ranks", type=int, default=None, metavar="N",
                        help="instead: 1 process with N threads against N MPI ranks with 1 thread each (mlp and cnn unless "
                             "--workloads), the all-reduce time per step, and its cost across machines on paper (bench/ranks.py)")
    parser.add_argument("--child", nargs=3, metavar=("FRAMEWORK", "WORKLOAD", "PHASE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ranks is not None:
        from bench import ranks  # as `python -m bench` and as `python bench/run.py`

        given = any(a.startswith("--workloads") for a in (sys.argv[1:] if argv is None else argv))
        return ranks.main(argparse.Namespace(ranks=args.ranks, quick=args.quick, rounds=args.rounds, min_seconds=args.min_seconds,
                                             workloads=args.workloads if given else None,
                                             json=args.json.replace("results.json", "results-ranks.json")))
    scale = 0.25 if args.quick else 1.0

    if args.child:
        print(json.dumps(child(*args.child, args.optimizer, args.seed_model, scale, args.threads)))
        return 0

    args.threads = set_threads(args.threads)
    rounds = args.rounds or (3 if args.quick else 5)
    info = machine()
    torch = None if args.no_torch else try_torch()
    frameworks = ["minikeras"] + (["pytorch"] if torch is not None else [])
    log = print
    log(f"Machine: {info['cpu']}, {info['nproc']} CPUs; Python {info['python']}, numpy {info['numpy']}, torch {info['torch']}")
    for blas in info["blas"]:
        log(f"BLAS: {blas['internal_api']} {blas['version']}, kernel {blas['architecture']}, {blas['num_threads']} threads ({blas['threading_layer']})")
    if any(info["openblas_env"][k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")):
        log("warning: OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are set; run with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` for figures")
    load = os.getloadavg()
    info["loadavg_before"] = load
    log(f"Load average before the run: {load[0]:.2f} (1 min) on {info['nproc']} CPUs"
        + ("; other work is running, expect noisy figures" if load[0] > 0.5 * (info["nproc"] or 1) else ""))
    log(f"Threads: {args.threads} for numpy's BLAS" + (" and PyTorch" if torch is not None else ""))
    if torch is None:
        log(f"PyTorch: not installed{' (--no-torch)' if args.no_torch else ''}; Mini-Keras figures alone (to compare: {TORCH_PIP})")
    rate = matmul_rate(0.6 if args.quick else 2.0)
    log(f"numpy float32 matmul at the MLP step's shapes (batch 128): {rate['gflops']:.1f} GFLOP/s")

    results = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": info, "threads": args.threads,
               "options": {"quick": args.quick, "rounds": rounds, "optimizer": args.optimizer, "seed_model": args.seed_model},
               "matmul": rate, "workloads": {}}
    table = []
    for name in [w.strip() for w in args.workloads.split(",") if w.strip()]:
        wl = workloads(args.optimizer, args.seed_model, scale).get(name)
        if wl is None:
            parser.error(f"--workloads: unknown workload {name!r}; expected one of mlp, cnn, rnn, seed, lstm, cnn_bn")
        missing = wl.missing_plugins()
        if missing:
            hint = {"adam": " (use --optimizer sgd meanwhile)", "conv2d": " (use --seed-model dense for seed meanwhile)"}
            message = "; ".join(f"skipped: plugin '{m}' not installed{hint.get(m, '') if name in ('mlp', 'seed') else ''}" for m in missing[:1])
            log(f"{name}: {message}")
            results["workloads"][name] = {"status": message, "missing": missing}
            continue
        log(f"{name}: {wl.description}" + "".join(f"; note: {n}" for n in wl.notes))
        entry = bench_workload(wl, frameworks, rounds, log, args.min_seconds or (0.15 if args.quick else 0.5))
        entry.update(status="ok", description=wl.description, notes=wl.notes, batch=wl.batch,
                     train_samples_per_round=wl.train_samples * wl.epochs, predict_samples=wl.predict_samples)
        if not args.no_memory:
            entry["memory"] = {fw: {phase: measure_memory(fw, name, phase, args) for phase in ("train", "predict")} for fw in frameworks}
        if name == "mlp":
            per_sample = rate["flops_per_step"] / rate["batch"]
            reached = entry["minikeras"]["train"]["median"] * per_sample / 1e9
            entry["blas_fraction"] = {"gflops_reached": reached, "fraction": reached / rate["gflops"]}
            log(f"  mlp training reaches {reached:.1f} GFLOP/s = {reached / rate['gflops']:.0%} of numpy's matmul rate")
        results["workloads"][name] = entry
        table.append((name, entry))

    log("")
    header = f"{'workload':<8} {'phase':<8} {'Mini-Keras /s':>14} {'PyTorch /s':>12} {'ratio median [range]':>22} {'MK MiB':>8} {'PT MiB':>8}"
    log(header)
    log("-" * len(header))
    for name, entry in table:
        for phase in ("train", "predict"):
            mk_s = entry["minikeras"][phase]["median"]
            pt_s = entry["pytorch"][phase]["median"] if "pytorch" in entry else None
            ratio = fmt_range(entry["ratio"][phase]) if "ratio" in entry else "-"
            memory = entry.get("memory", {})
            mem = [memory.get(fw, {}).get(phase, {}).get("delta_mib") for fw in ("minikeras", "pytorch")]
            log(f"{name:<8} {phase:<8} {mk_s:>14,.0f} {'-' if pt_s is None else f'{pt_s:,.0f}':>12} {ratio:>22} "
                + " ".join(f"{'-' if m is None else f'{m:.1f}':>8}" for m in mem))
    results["machine"]["loadavg_after"] = os.getloadavg()
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    log(f"\nResults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
