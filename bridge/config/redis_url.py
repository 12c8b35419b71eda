"""Redis URLs whose password may hold any character, and never shows it.

Generated passwords (``openssl rand -base64 32``) hold ``/``, ``+`` and ``=``; others hold
``@``, ``:``, ``#`` or ``?``. Written raw into ``redis://:PASSWORD@host:6379/0``, a ``/`` or
``#`` ends the host part early for every URL parser (redis-py's included), which then reads
part of the password as a port and fails with a traceback that prints it. So the user part
is taken up to the *last* ``@`` (a host never holds one) and percent-encoded; escapes already
written (``%2F``) are kept. redis-py decodes the user and password again when it connects.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

# what may stay as written in a URL's user part (RFC 3986 unreserved and sub-delims)
_KEEP = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2}")


def _encode(part: str) -> str:
    out = []
    i = 0
    while i < len(part):
        kept = _KEEP.match(part, i)
        if kept:
            out.append(kept.group(0))
            i = kept.end()
        else:
            out.append("".join(f"%{b:02X}" for b in part[i].encode("utf-8")))
            i += 1
    return "".join(out)


def normalize(url: str) -> str:
    """``url`` with its user and password percent-encoded, so that any parser splits it right."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user, colon, password = userinfo.partition(":")
    return f"{scheme}://{_encode(user)}{colon}{_encode(password)}@{host}"


def password(url: str) -> str | None:
    """The password in ``url``, decoded (None when it has none)."""
    found = urlsplit(normalize(url)).password
    return unquote(found) if found is not None else None


def safe(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages and logs."""
    normal = normalize(url)
    parts = urlsplit(normal)
    if parts.password is None:
        return normal
    host = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:" if parts.username else ":"
    return urlunsplit(parts._replace(netloc=f"{user}***@{host}"))
