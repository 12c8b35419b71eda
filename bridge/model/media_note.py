"""The honest note a copy shows where its file cannot cross, in the target room's language.

"[Video, 62 MB, zu groß zum Übertragen]": the kind, the file's own name (a document's only),
its size, and why it did not cross. Why is a reason code (``TOO_LARGE``, ``EXPIRED``...):
what ``Media.note`` holds in the streams and what an adapter passes to ``Media.describe``,
so that each reason is worded, and translated, here only; the adapter that sends the copy
renders the note with the delivery's ``language`` (its catalog, else English). Any other
text (an envelope queued by an older version) is shown as it is: honest, if untranslated.

The size follows CLDR's short digital units for each shipped language ("62 Mo" in French),
written into the catalogs: ``bridge.model.cldr`` holds no unit data. The note is copy text,
like the message it ends: it names the sender's file, so it is never logged.
"""

from __future__ import annotations

from bridge.model.i18n import Message, _, ngettext, render

# reason codes (stored in envelopes as ``Media.note``: keep their spelling)
TOO_LARGE = "too-large"  # over what the bridge or the platform takes
TOO_LARGE_FOR_SERVER = "too-large-for-server"  # over the target server's upload limit
EXPIRED = "expired"  # the bytes left the media store before the copy was sent
ANIMATED = "animated"  # an animated sticker
REFUSED = "refused"  # the origin platform refused the download
FETCH_FAILED = "fetch-failed"  # the download failed until the bridge gave up
UNREADABLE_IMAGE = "unreadable-image"  # its metadata could not be read, so not removed
UNCLEANABLE = "uncleanable"  # its metadata could not be removed
NO_FILE = "no-file"  # the event named no file
GONE = "gone"  # the origin server no longer has it
UNDECRYPTABLE = "undecryptable"  # an encrypted file that could not be decrypted
NOT_CARRIED = "not-carried"  # no reason to give

REASONS: dict[str, Message] = {
    TOO_LARGE: _("too large to carry"),
    TOO_LARGE_FOR_SERVER: _("too large for this homeserver"),
    EXPIRED: _("expired, not carried"),
    ANIMATED: _("animated, not carried"),
    REFUSED: _("not carried: the platform refused it"),
    FETCH_FAILED: _("file could not be carried"),
    UNREADABLE_IMAGE: _("not carried: unreadable image"),
    UNCLEANABLE: _("not carried: its metadata could not be removed"),
    NO_FILE: _("not carried: no file"),
    GONE: _("not carried: the file is gone"),
    UNDECRYPTABLE: _("not carried: could not be decrypted"),
    NOT_CARRIED: _("not carried"),
}

KINDS: dict[str, Message] = {
    "photo": _("photo"),
    "file": _("file"),
    "voice": _("voice message"),
    "sticker": _("sticker"),
    "video": _("video"),
    "audio": _("audio"),
    "animation": _("animation"),
}


def size_text(size: int) -> Message:
    """A size as CLDR's short digital units write it in the room's language."""
    mib, kib = 1024 * 1024, 1024
    if size >= mib:
        return _("{size} MB", size=round(size / mib))
    if size >= kib:
        return _("{size} KB", size=round(size / kib))
    return ngettext("{n} byte", "{n} bytes", size)


def reason_text(reason: str, language: str) -> str:
    """A reason code in ``language``; another text (an envelope of an older version, which
    stored the English wording) as it is."""
    message = REASONS.get(reason)
    return reason if message is None else render(message, language)


def note(
    kind: str, language: str, *, reason: str = "", name: str = "", emoji: str = "", size: int = 0
) -> str:
    """The note: "[kind, name, size, reason]", each part there only when known. The name is
    shown for a document only (a photo's name is the phone's, and says nothing)."""
    what = KINDS.get(kind)
    parts = [kind if what is None else render(what, language)]
    if kind == "sticker" and emoji:
        parts[0] = f"{parts[0]} {emoji}"
    if name and kind == "file":
        parts.append(name)
    if size:
        parts.append(render(size_text(size), language))
    if reason:
        parts.append(reason_text(reason, language))
    return "[" + ", ".join(parts) + "]"
