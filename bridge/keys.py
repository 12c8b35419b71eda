"""Redis key names. Every key translocal writes is built here, under one prefix."""

from __future__ import annotations

PREFIX = "tl:"

SCHEMA = f"{PREFIX}schema"  # the layout version of everything under the prefix
SCHEMA_LOCK = f"{PREFIX}schema:lock"
META = f"{PREFIX}meta"  # hash: created_at, created_by (translocal version)
