"""``translocal init``: a newcomer's first configuration, from a few questions or flags.

``answers`` checks each answer (label, language, timezone, chat id, URLs) with the same rules
as the config loader, so that what ``init`` accepts the loader accepts too; ``files`` writes
the commented YAML and the private env file (mode 0600 from the moment it exists, never
through a symbolic link, never over an existing file unless asked) and never a secret into
the YAML; ``command`` is the click command that asks or reads flags. Part of the
composition root: it names platforms, as the CLI does.
"""
