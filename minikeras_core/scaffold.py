"""``minikeras new-plugin KIND NAME``: write a ready-to-install plugin package to start from.

The package is a complete distribution named ``minikeras-NAME`` (dashes for underscores) with:

- ``pyproject.toml``: the entry point ``NAME = "minikeras_NAME.NAME:ClassName"`` in the group of
  its kind, depending on ``minikeras-core`` and numpy only;
- ``minikeras_NAME/NAME.py``: the plugin class with every method to fill in, each with its
  docstring. The bodies are a working placeholder (the identity activation, a per-feature scale
  layer, the squared error, plain gradient descent, the mean absolute error, a fan-in scaled
  normal initializer, a one-process strategy) marked ``TODO``, so the package installs and passes ``minikeras check``
  before it is changed;
- ``tests/test_NAME_plugin.py``: the conformance suite in one line, and a model using the plugin
  by name.

The templates themselves are in :mod:`._scaffold_templates` (the plugin class) and
:mod:`._scaffold_package` (the other files).
"""

from __future__ import annotations

import re
from pathlib import Path

from ._scaffold_package import _FIT_OPTIONS, _MODEL_TEST, _PYPROJECT, _README, _TEST
from ._scaffold_templates import TEMPLATES
from .registry import kind_spec

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def class_name(name: str) -> str:
    """``leaky_relu`` -> ``LeakyRelu``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def distribution_name(name: str) -> str:
    """``leaky_relu`` -> ``minikeras-leaky-relu``."""
    return "minikeras-" + name.replace("_", "-")


def package_name(name: str) -> str:
    """``leaky_relu`` -> ``minikeras_leaky_relu``."""
    return "minikeras_" + name


def render(kind: str, name: str) -> dict[str, str]:
    """The files of the package for plugin ``name`` of ``kind``, as ``{relative path: text}``."""
    if kind not in TEMPLATES:
        raise ValueError(f"kind: got {kind!r}, expected one of {sorted(TEMPLATES)}")
    if not _NAME.match(name):
        raise ValueError(f"name: got {name!r}, expected snake_case: a lowercase letter, then lowercase letters, digits or _")
    fields = {
        "name": name,
        "kind": kind,
        "cls": class_name(name),
        "dist": distribution_name(name),
        "package": package_name(name),
        "group": kind_spec(kind).group,
    }
    package = fields["package"]
    return {
        "pyproject.toml": _PYPROJECT.format(**fields),
        "README.md": _README.format(**fields),
        f"{package}/__init__.py": f'"""The {name} {kind} for Mini-Keras; the registry finds it through its entry point."""\n',
        f"{package}/{name}.py": TEMPLATES[kind].format(**fields),
        f"tests/test_{name}_plugin.py": _TEST.format(model=_MODEL_TEST[kind].format(**fields),
                                                     fit_options=_FIT_OPTIONS.get(kind, "").format(**fields), **fields),
    }


def write_plugin_package(kind: str, name: str, directory: str | Path = ".", *, force: bool = False) -> Path:
    """Write the package for plugin ``name`` of ``kind`` into ``directory/minikeras-NAME``; return its path."""
    files = render(kind, name)
    root = Path(directory) / distribution_name(name)
    if root.exists() and any(root.iterdir()) and not force:
        raise FileExistsError(f"{root} already exists and is not empty; choose another --dir or pass --force")
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
