"""Writing a file so that an interruption never leaves it half written, nor leaves litter behind.

The content goes to a temporary file beside the target, is flushed and fsync'ed, then renamed
over the target with ``os.replace`` (and the directory fsync'ed, where the platform allows): a
reader sees the old file or the new one, never a part. The temporary file's name carries the
writer's process id (``.NAME.PID.XXXX.tmp``); one left by a writer that was killed is removed by
the next write to the same path, while those of writers still running are left alone.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any


def write_atomically(path: str, write: Callable[[Any], None]) -> None:
    """Call ``write(stream)`` on a temporary binary file beside ``path``, then put it in ``path``'s place."""
    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale_temporaries(directory, os.path.basename(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.{os.getpid()}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it 0600; give it a normal file's mode
        with os.fdopen(handle, "wb") as raw:
            write(raw)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    _fsync_directory(directory)


def _remove_stale_temporaries(directory: str, name: str) -> None:
    """Remove ``.NAME.PID.*.tmp`` files of ``name`` whose writer process no longer runs (an interrupted write)."""
    prefix = f".{name}."
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        pid = entry[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and (int(pid) == os.getpid() or _process_alive(int(pid))):
            continue  # a write in progress, here or in another process
        try:
            os.remove(os.path.join(directory, entry))
        except OSError:
            pass


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else
    return True


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory: str) -> None:
    # Make the rename itself durable where the platform allows it (POSIX); best effort elsewhere.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
