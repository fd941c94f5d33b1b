"""The Mini-Keras file as an archive: its constants, writing one atomically, and reading one with every check.

What goes into the header and back into a model is :mod:`minikeras_core.saving`'s business; this
module knows zip members, ``.npy`` arrays without pickle, and the format's version.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any

import numpy as np

from ._atomic import write_atomically
from .errors import SaveFormatError

FORMAT = "minikeras"
FORMAT_VERSION = 1
HEADER = "minikeras.json"
_ZIP_MAGIC = b"PK\x03\x04"


class ArrayStore:
    """Collects the arrays of one file and hands out their member names."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def add(self, array: np.ndarray) -> str:
        array = np.asarray(array)
        if array.dtype.kind not in "fiub":
            raise TypeError(f"save: only numeric arrays can be saved, got dtype {array.dtype}")
        member = f"arrays/{len(self.arrays):05d}.npy"
        self.arrays[member] = array
        return member

    def encode(self, value: Any) -> Any:
        """``value`` as JSON, each array replaced by ``{"__array__": member}``."""
        if isinstance(value, np.ndarray):
            return {"__array__": self.add(value)}
        if isinstance(value, dict):
            return {str(k): self.encode(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.encode(v) for v in value]
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.dtype):
            return value.name
        return value


def write_archive(path: str, header: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write the archive atomically (see :mod:`minikeras_core._atomic`): the previous file stays whole until the rename."""

    def write(raw: Any) -> None:
        with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(HEADER, json.dumps(header, indent=1))
            for member, array in arrays.items():
                with archive.open(member, "w", force_zip64=array.nbytes > 2**30) as stream:
                    np.lib.format.write_array(stream, np.ascontiguousarray(array), allow_pickle=False)

    write_atomically(path, write)


class Archive:
    """An opened Mini-Keras file: its checked header and its arrays, read without pickle."""

    def __init__(self, path: Any) -> None:
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"{self.path}: no such file")
        with open(self.path, "rb") as handle:
            magic = handle.read(4)
        if magic != _ZIP_MAGIC:
            raise SaveFormatError(f"{self.path}: not a Mini-Keras file (not a zip archive); expected a file written by Sequential.save or save_weights")
        try:
            self.zip = zipfile.ZipFile(self.path)
            names = set(self.zip.namelist())
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
            raise SaveFormatError(f"{self.path}: the file is truncated or corrupt ({err})") from None
        if HEADER not in names:
            raise SaveFormatError(f"{self.path}: a zip archive but not a Mini-Keras file (it has no {HEADER} member)")
        try:
            header = json.loads(self.zip.read(HEADER).decode("utf-8"))
        except (zipfile.BadZipFile, OSError, EOFError, UnicodeDecodeError, ValueError) as err:
            raise SaveFormatError(f"{self.path}: the file is corrupt: its header cannot be read ({err})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise SaveFormatError(f"{self.path}: not a Mini-Keras file (its {HEADER} does not declare format {FORMAT!r})")
        version = header.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise SaveFormatError(f"{self.path}: the file is corrupt: format_version is {version!r}, expected an integer")
        if version != FORMAT_VERSION:
            newer = version > FORMAT_VERSION
            raise SaveFormatError(
                f"{self.path}: written in Mini-Keras file format version {version} "
                f"(by minikeras {header.get('minikeras_version', '?')}); this minikeras reads format version {FORMAT_VERSION}"
                + ("; upgrade minikeras-core to read it" if newer else "; re-save it with a matching minikeras version")
            )
        self.header = header

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def field(self, key: str) -> Any:
        if key not in self.header:
            raise SaveFormatError(f"{self.path}: the file is corrupt: its header has no {key!r}")
        return self.header[key]

    def array(self, member: Any) -> np.ndarray:
        if not isinstance(member, str):
            raise SaveFormatError(f"{self.path}: the file is corrupt: bad array reference {member!r}")
        try:
            data = self.zip.read(member)  # checks the member's CRC
            array = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
        except KeyError:
            raise SaveFormatError(f"{self.path}: the file is corrupt: array {member!r} is missing") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
            raise SaveFormatError(f"{self.path}: the file is corrupt: array {member!r} cannot be read ({err})") from None
        if array.dtype.kind not in "fiub":
            raise SaveFormatError(f"{self.path}: the file is corrupt: array {member!r} has non-numeric dtype {array.dtype}")
        return array

    def decode(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"__array__"}:
                return self.array(value["__array__"])
            return {k: self.decode(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        return value

    def weights(self) -> list[tuple[dict, np.ndarray]]:
        index = self.field("weights")
        if not isinstance(index, list):
            raise SaveFormatError(f"{self.path}: the file is corrupt: 'weights' is not a list")
        pairs = []
        for entry in index:
            if not isinstance(entry, dict) or "array" not in entry:
                raise SaveFormatError(f"{self.path}: the file is corrupt: bad weight entry {entry!r}")
            array = self.array(entry["array"])
            if list(array.shape) != list(entry.get("shape", array.shape)):
                raise SaveFormatError(f"{self.path}: the file is corrupt: weight {entry.get('layer')}/{entry.get('name')} has shape {array.shape}, its index says {entry.get('shape')}")
            pairs.append((entry, array))
        return pairs
