"""A LibreTranslate stand-in: a real HTTP server that speaks LibreTranslate's API, for tests,
benchmarks and the demo.

`POST /translate` and `GET /languages` answer in LibreTranslate's shapes. Translation is
deterministic: known sentences come from a small phrase table (tenant organizing, several
languages); anything else comes back marked as `[<target>] <text>`. Placeholders of the form
`⟦<digits>⟧` always come back byte for byte. Faults (500s, hangs, delays, 403s, 429s) and a
"mangling" mode that lowercases text and breaks URLs, @mentions and #hashtags are switched on
from Python or over HTTP under `/_sandbox/...`, and every call is counted and logged.

Run it alone with `python -m sandbox.libretranslate --port 5055`.

Modules, one job each:

- `server`: LibreTranslateServer, its lifecycle, its controls and its HTTP routes
- `phrases`: the phrase table, the language guesser and the careless translator's mangling
- `__main__`: the command line
"""

from sandbox.libretranslate.phrases import guess_language, mangle
from sandbox.libretranslate.server import LibreTranslateServer

__all__ = ["LibreTranslateServer", "guess_language", "mangle"]
