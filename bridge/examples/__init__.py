"""The example configurations, shipped in the package so that an installed translocal has
them (``pip install``, the container image): ``demo.yaml`` (the network of ``translocal
demo``), ``example.yaml`` (every section, commented) and ``glossary.example.yaml``.

``path(name)`` gives the file on disk; ``translocal demo`` runs the bridge on it in a
subprocess, which needs a real path, not a stream.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

NAMES = ("demo.yaml", "example.yaml", "glossary.example.yaml")


def path(name: str) -> Path:
    """The installed example called ``name`` (one of ``NAMES``)."""
    if name not in NAMES:
        raise ValueError(f"{name!r} is not one of the examples ({', '.join(NAMES)})")
    return Path(str(resources.files(__package__).joinpath(name)))
