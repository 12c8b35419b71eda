"""`translocal` as a separate process that also knows the in-memory platform (crash tests)."""

import tests.memory_bot  # noqa: F401 - registers the "memory" platform
from bridge.cli import main

main()
