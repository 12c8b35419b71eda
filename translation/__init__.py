"""Language detection, translation providers, cache, glossary and protected spans.

This package imports nothing from ``bots`` or ``bridge``.
"""
