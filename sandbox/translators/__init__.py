"""Stand-ins for the translation providers with keys: real HTTP servers on this machine that
speak DeepL's, Google Cloud Translation v2's and Microsoft Translator v3's documented wire
formats closely enough that translocal's own clients are tested unchanged.

Each checks the auth header (and refuses a key in the query string), takes several texts per
call, answers the provider's own error codes and bodies on demand (456, 403, 429 ...), maps
language codes the provider's way, counts calls, and can be told to lie (HTML, empty
strings, a wrong number of segments, the text handed back untranslated).

Modules, one job each:

- `base`: StandIn, the lifecycle, counters, faults and lies they share
- `deepl`, `google`, `microsoft`: one provider each
"""

from sandbox.translators.base import Lie, Seen, StandIn
from sandbox.translators.deepl import DeepLStandIn
from sandbox.translators.google import GoogleStandIn
from sandbox.translators.microsoft import MicrosoftStandIn

__all__ = ["DeepLStandIn", "GoogleStandIn", "Lie", "MicrosoftStandIn", "Seen", "StandIn"]
