"""Platform adapters, one package each (``bots/telegram/``, ``bots/matrix/``).

Each package's ``__init__`` declares its settings and platform facts and registers them with
``bridge.model.platforms.register``, without importing its client library; the rest of the
package (bot, ingest, send, render, check) loads only when a configured bot needs it.
Adapters import nothing of the bridge but ``bridge.model``.
"""
