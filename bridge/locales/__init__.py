"""The bridge's own texts in each language: gettext message catalogs, data rather than code.

``translocal.pot`` is the template, extracted from the code by
``python -m bridge.model.catalogs extract``; ``<lang>/LC_MESSAGES/translocal.po`` is one
language's catalog, read at start-up by ``bridge.model.catalogs`` (package data, no compile
step). An operator's ``translation.locale_dir`` is laid over these. ``<lang>/cldr.json`` holds
the few CLDR items (dates, names, list joins) of a shipped language, written by
``python -m bridge.model.cldr build`` so that Babel's full locale data is not loaded.
"""
