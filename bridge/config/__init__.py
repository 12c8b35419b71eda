"""The configuration: the YAML file, read, expanded and checked once at start-up.

``models`` are the typed sections (pydantic, frozen, unknown keys refused), with the rules of
each field; ``load`` reads the file, expands ``${VAR}`` and ``${VAR:-default}``, validates each
bot by its platform's own settings model, and reports every problem found at once, one line
each, key path first, with its line in the file; ``crosscheck`` holds the rules that relate
one part of the file to another (a room names an existing bot, a person id fits its
platform), which run even when some fields are invalid; ``cron`` gives the call-outs' ``cron``
its crontab meaning, for validation here and for firing in ``bridge.callouts``.
``yaml_safe`` bounds the file before parsing (size, aliases, depth); ``expand`` resolves
``${VAR}``, ``${VAR:-default}`` and ``${file:PATH}``; ``redis_url`` takes a Redis URL whose
password holds any character, and never shows it.
"""
