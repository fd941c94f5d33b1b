"""The ``mpi`` strategy over real processes: the programs of ``tests/mpi/`` run under ``mpiexec -n 2``.

Each program raises (and so aborts the job) where two ranks differ from one process or from
each other; rank 0 prints an ``OK`` line per case and ``ALL OK`` at the end. Skipped, with the
reason shown by ``pytest -rs``, where MPI is not installed (``pip install -e ./plugins-mpi``
installs mpi4py and the mpich wheel, which brings ``mpiexec``). The same engine logic without
MPI is tested over threads in ``tests/test_strategy.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "mpi"
RANKS = 2


def find_mpiexec() -> list[str] | None:
    """The ``mpiexec`` beside this Python (the mpich wheel's), else one on the PATH; with Open MPI's flags for root."""
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        return None
    command = [found]
    version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=30).stdout
    if "Open MPI" in version or "OpenRTE" in version:  # Open MPI refuses root and more ranks than cores unless told
        command += ["--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    return command


MISSING = [name for name in ("mpi4py", "minikeras_mpi") if importlib.util.find_spec(name) is None]
MPIEXEC = None if MISSING else find_mpiexec()
WHY = (f"MPI is not installed ({', '.join(MISSING) or 'no mpiexec'} missing): `pip install -e ./plugins-mpi` "
       "(mpi4py and the mpich wheel) runs these 2-rank tests")
if (MISSING or MPIEXEC is None) and os.environ.get("MINIKERAS_REQUIRE_MPI"):  # CI: a skip would hide that nothing ran
    raise RuntimeError(f"MINIKERAS_REQUIRE_MPI is set but {WHY}")
pytestmark = pytest.mark.skipif(bool(MISSING) or MPIEXEC is None, reason=WHY)


def mpirun(program: str, *args: str, timeout: float = 180) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``tests/mpi/PROGRAM`` on ``RANKS`` ranks; the finished process and the seconds it took."""
    start = time.perf_counter()
    done = subprocess.run([*MPIEXEC, "-n", str(RANKS), sys.executable, str(PROGRAMS / program), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    return done, time.perf_counter() - start


def passed(done: subprocess.CompletedProcess) -> list[str]:
    """The ``OK`` lines of a job that ended well (else the assertion shows its output)."""
    assert done.returncode == 0 and "ALL OK" in done.stdout, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return [line for line in done.stdout.splitlines() if line.startswith("OK ")]


def test_two_ranks_train_as_one_process():
    # every registered optimizer, uneven shares, separate gradient arrays (clipnorm), Dropout, a CNN and an RNN;
    # identical History on every rank; evaluate/predict give every rank the global figures and all predictions
    lines = passed(mpirun("equivalence.py")[0])
    from minikeras_core import list_plugins
    from minikeras_core.registry import REGISTRY

    optimizers = {REGISTRY.name_of(REGISTRY.resolve("optimizer", name)) for name in list_plugins()["optimizer"]}
    assert {f"mlp {name}" for name in optimizers} <= {line.split(":")[0][3:] for line in lines}
    for case in ("uneven shares", "clipnorm", "Dropout", "cnn adam", "rnn adam", "one all-reduce per step"):
        assert any(case in line for line in lines), (case, lines)


def test_rank_0_alone_prints_and_writes_and_every_rank_stops_together(tmp_path):
    done, _ = mpirun("callbacks.py", str(tmp_path))
    lines = passed(done)
    assert len(lines) == 3
    assert done.stdout.count("Epoch 1/3") == 1  # the progress lines of rank 0 only
    assert sorted(p.name for p in (tmp_path / "rank0").iterdir())[:2] == ["best.mk", "epoch1.mk"]
    assert not list((tmp_path / "rank1").iterdir())


@pytest.mark.parametrize("case, message", [
    ("callback", "RuntimeError: rank 1 fails on purpose in epoch 2"),
    ("lengths", "the number of training samples differs across ranks: rank 0 has 200, rank 1 has 199"),
    ("model", "the model (its architecture) differs across ranks: rank 0 has"),
])
def test_an_error_on_one_rank_fails_the_job_within_seconds(case, message):
    done, seconds = mpirun("failure.py", case, timeout=60)
    assert done.returncode != 0 and "NOT REACHED" not in done.stdout
    assert message in done.stderr, done.stderr[-3000:]
    if case == "callback":  # rank 1 alone fails: its abort's line is shown (when every rank fails, the first abort may cut the others')
        assert "MPIStrategy: rank 1 of 2 raised RuntimeError" in done.stderr and "aborting the MPI job" in done.stderr
    assert seconds < 20, f"the job took {seconds:.1f} s to fail"  # training alone would take minutes (10,000 epochs)


def test_data_streams_from_disk_and_a_memmap_larger_than_the_limit_is_never_copied(tmp_path):
    lines = passed(mpirun("streaming.py", str(tmp_path))[0])
    assert any("reads only" in line or "streams each rank its own batches" in line for line in lines)
    assert any("128 MiB memmap trained" in line for line in lines)


def test_the_mpi_digits_example_prints_the_same_final_loss_both_ways():
    done = subprocess.run([*MPIEXEC, "-n", str(RANKS), sys.executable, str(ROOT / "examples" / "mpi_digits.py")],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    final = {line.split(":")[0]: line.split(":")[1].split()[0] for line in done.stdout.splitlines() if line.startswith("final loss")}
    assert len(final) == 2 and len(set(final.values())) == 1, done.stdout


def test_the_benchmark_compares_threads_and_ranks(tmp_path):
    out = tmp_path / "ranks.json"
    done = subprocess.run([sys.executable, "-m", "bench", "--ranks", "2", "--quick", "--workloads", "mlp", "--rounds", "1",
                           "--min-seconds", "0.01", "--json", str(out)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 process x 2 threads" in done.stdout and "N=16: all-reduce, speed-up" in done.stdout
    entry = json.loads(out.read_text())["workloads"]["mlp"]
    assert entry["parameters"] == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10 and entry["gradient_bytes"] == 4 * entry["parameters"]
    ranked = entry["median"]["ranks"]
    assert ranked["samples_per_second"] > 0 and 0 < ranked["allreduce_alone_seconds"] < 1


def test_the_ring_all_reduce_on_paper():
    from bench.ranks import ring_seconds

    assert ring_seconds(1_250_000_000, 2) == pytest.approx(1.0)  # half the buffer each way, twice, at 1.25 GB/s
    assert ring_seconds(10**9, 16) == pytest.approx(2 * 15 / 16 * 10**9 / 1.25e9)


def test_the_readme_memmap_example_trains_under_a_memory_limit_smaller_than_the_file(tmp_path):
    import resource

    path = tmp_path / "big.f32"
    made = subprocess.run([sys.executable, str(ROOT / "examples" / "mpi_memmap.py"), str(path), "--make", "--gib", "0.375"],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0 and path.stat().st_size == 384 * 2**20, made.stderr
    limit = 300 * 2**20  # `ulimit -d 307200`: below the file's 384 MiB, above Python's own ~170 MiB

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (limit, resource.getrlimit(resource.RLIMIT_DATA)[1]))

    done = subprocess.run([*MPIEXEC, "-n", str(RANKS), sys.executable, str(ROOT / "examples" / "mpi_memmap.py"), str(path)],
                          capture_output=True, text=True, timeout=300, preexec_fn=limited)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "0.38 GiB memmap, 2 rank(s)" in done.stdout and "of its limit 300 MiB" in done.stdout, done.stdout
    accuracy = float(done.stdout.split("accuracy ")[-1].split(",")[0])
    assert accuracy > 0.9, done.stdout
