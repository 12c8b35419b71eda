"""Redis key names. Every key translocal writes is built here, under one prefix."""

from __future__ import annotations

PREFIX = "tl:"

SCHEMA = f"{PREFIX}schema"  # the layout version of everything under the prefix
SCHEMA_LOCK = f"{PREFIX}schema:lock"
META = f"{PREFIX}meta"  # hash: created_at, created_by (translocal version)

# The bus
RELAY_GROUP = "relay"
DELIVER_GROUP = "deliver"


def inbox(shard: int) -> str:
    return f"{PREFIX}inbox:{shard}"


def outbox(bot: str) -> str:
    return f"{PREFIX}outbox:{bot}"


DEAD_LETTERS = f"{PREFIX}deadletter"
ACTIVITY = f"{PREFIX}activity"  # hash: "in:<room>", "out:<room>" -> last time (Unix s); ids only


def lease(name: str) -> str:
    return f"{PREFIX}lease:{name}"


RELAY_WORKERS = f"{PREFIX}relay:workers"  # zset: worker id -> last heartbeat (ms)


# Idempotency and the message map (ids only, never text)
def seen(envelope_key: str) -> str:
    """Set once an inbound envelope other than a message has been relayed (a message's map
    record is its own seen mark: see bridge.relay.worker)."""
    return f"{PREFIX}seen:{envelope_key}"


def sent(delivery_key: str) -> str:
    """The ids of a delivery other than a copy (an edit, a delete, a notice, a call-out), set
    once it is sent; a copy's mark is its room's field in its origin's map record."""
    return f"{PREFIX}sent:{delivery_key}"


MAP_TABLES = f"{PREFIX}m:"  # the message map (bridge.relay.maplua): per room and day
MAP = f"{PREFIX}map:"  # the previous layout of the map, read until it expires: the two below


def origin(room: str, message_id: str) -> str:
    """Hash: one field per target room -> its copy's ids; ``.sender``, ``.root``, ``.ts``."""
    return f"{MAP}o:{room}:{message_id}"


def copy(room: str, message_id: str) -> str:
    """A copy's origin, as ``<room>/<message id>``."""
    return f"{MAP}c:{room}:{message_id}"


def retracted(origin: str) -> str:
    """Set by a retract (``<room>/<id>``) for as long as the map lives: a copy still on its
    way is not sent, or is deleted as soon as its send is recorded."""
    return f"{PREFIX}retracted:{origin}"


# Moderation (ids only, never text, except the recent-messages buffer, which expires)
AUDIT = f"{PREFIX}audit"  # stream: who, room, message id, action, outcome
PAUSED = f"{PREFIX}paused"  # set of room ids: nothing crosses into or out of them
OPTED_OUT = f"{PREFIX}optout"  # set of sender ids whose messages never cross
MOD_VERSION = f"{PREFIX}mod:version"  # counts every moderation change, for in-process mirrors
MOD_FLAGS = f"{PREFIX}mod:flags"  # sorted set: the shared/held/hidden keys set, by expiry time
# word filters, quarantine and the privacy check (bridge.moderation.filters, .privacy)
FILTERS = f"{PREFIX}filters"  # set of "<room>\t<term>": filter terms added at run time
QUARANTINED = f"{PREFIX}quarantined"  # set of room ids: nothing crosses out of them


def quarantine_votes(room: str) -> str:
    """Set: the rooms whose moderators asked to quarantine ``room``."""
    return f"{PREFIX}quarantine:votes:{room}"


def release_votes(room: str) -> str:
    """Set: "inside" / "outside", once a moderator of each side asked to release ``room``."""
    return f"{PREFIX}quarantine:release:{room}"


def filter_hold(hold_id: str) -> str:
    """A copy a word filter held (the delivery's JSON, text included), until a moderator
    releases or drops it; expires with the recent-messages buffer."""
    return f"{PREFIX}filterhold:{hold_id}"


CONSENT_DUE = f"{PREFIX}consent:due"  # zset: consent id -> when its share carries (Unix s)
LAPSE_DUE = f"{PREFIX}pendingshare:due"  # zset: "<room>\t<who>" -> when a paused share lapses


def consent(consent_id: str) -> str:
    """A share waiting for its authors' consent (JSON: ids, circles, authors; no text)."""
    return f"{PREFIX}consent:{consent_id}"


def no_consent(root: str, sender: str) -> str:
    """While ``sender`` answered ``no`` for the thread ``root`` (a member of MOD_FLAGS)."""
    return f"{PREFIX}noconsent:{root}:{sender}"


def consent_refusals(consent_id: str) -> str:
    """Set: the authors who answered ``no`` to a consent notice."""
    return f"{PREFIX}consent:{consent_id}:no"


def pending_share(room: str, who: str) -> str:
    """A share the privacy check paused (ids and the kinds found, no text), for 10 minutes."""
    return f"{PREFIX}pendingshare:{room}:{who}"


# The three flags below are members of MOD_FLAGS (not keys of their own).
def shared(circle: str, root: str) -> str:
    """While a moderator has shared the thread ``root`` (``<room>/<id>``) in a circle."""
    return f"{PREFIX}shared:{circle}:{root}"


def held(circle: str, root: str) -> str:
    """While a moderator holds the thread back (unshare)."""
    return f"{PREFIX}held:{circle}:{root}"


def shared_log(circle: str) -> str:
    """Sorted set: thread roots shared in a circle, by when (for ``circle``)."""
    return f"{PREFIX}sharedlog:{circle}"


def hidden(room: str, root: str) -> str:
    """While the thread ``root`` is hidden from ``room``."""
    return f"{PREFIX}hidden:{room}:{root}"


def blocked(room: str, sender_hash: str) -> str:
    """A flag (in MOD_FLAGS) while a sender, by a per-circle keyed hash, is blocked in ``room``."""
    return f"{PREFIX}blocked:{room}:{sender_hash}"


def blocks(room: str) -> str:
    """Hash: block id -> JSON {name shown at block time, until (Unix s, 0 = forever), hashes}."""
    return f"{PREFIX}blocks:{room}"


BLOCK_KEY = f"{PREFIX}mod:blockkey"  # the hashing key of blocks when no pseudonym_key is set


def reports(origin: str) -> str:
    """Set: keyed hashes of the members who reported the message ``origin`` (merged reports)."""
    return f"{PREFIX}reports:{origin}"


def forget_lock(person_hash: str) -> str:
    """Held while one forgetme of a person runs (by a keyed hash, not the id)."""
    return f"{PREFIX}forget:lock:{person_hash}"


def forget_done(person_hash: str) -> str:
    """Set for an hour after a person's forgetme: one per person per hour."""
    return f"{PREFIX}forget:done:{person_hash}"


def recent(room: str, message_id: str) -> str:
    """A recent message's envelope (JSON, the text included), for ``share`` after the fact;
    kept ``retention.recent_hours`` and purged by ``retract``."""
    return f"{PREFIX}recent:{room}:{message_id}"


def thread(root: str) -> str:
    """Sorted set: the thread's messages (``<room>/<id>``) in the order the bridge took them."""
    return f"{PREFIX}thread:{root}"


def notified(what: str) -> str:
    """Set while a notice about ``what`` was given, so that it is given once."""
    return f"{PREFIX}notified:{what}"


def media(digest: str) -> str:
    """The bytes of a carried file (images already cleaned), by their SHA-256."""
    return f"{PREFIX}media:{digest}"


TRANSLATION_CACHE = f"{PREFIX}tcache:"  # + provider:source:target:hash, and tag:<message>
TRANSLATION_BUDGET = f"{PREFIX}tbudget:"  # + provider:YYYY-MM-DD, characters spent
# per circle (translation.memory): seg:<circle>:<target>:<hash>, index:<circle>,
# terms:<circle>; src:<message> (what a message was translated to, for fix), tag:<message>
TRANSLATION_MEMORY = f"{PREFIX}tmem:"


def fix_proposal(proposal: str) -> str:
    """A member's correction waiting for a moderator (JSON, its text included; expires)."""
    return f"{PREFIX}fix:{proposal}"


def fix_index(room: str, message_id: str) -> str:
    """The proposal a copy (or the ``fix`` command itself) of ``room`` stands for."""
    return f"{PREFIX}fix:at:{room}:{message_id}"


def bot_state(bot: str, name: str) -> str:
    """An adapter's own small state (Telegram's update offset, Matrix's sync token, ...)."""
    return f"{PREFIX}bot:{bot}:{name}"


# Call-outs (their texts are what organizers chose to broadcast; they go when cancelled)
CALLOUTS = f"{PREFIX}callouts"  # hash: call-out id -> its JSON (source, author, schedule, text)
CALLOUTS_VERSION = f"{PREFIX}callouts:version"  # incremented on every change, for schedulers
CALLOUT_REPORTS_DUE = f"{PREFIX}callouts:reports"  # zset: "<id>|<occurrence>" -> first fire
CALLOUT_CLOCK = f"{PREFIX}callouts:clock"  # the running scheduler's clock, for chat and CLI


def callout_cursor(callout_id: str) -> str:
    """Hash: room id -> the last fire time handled there (sent or skipped), ISO in UTC."""
    return f"{PREFIX}callout:{callout_id}:cursor"


def callout_fire(callout_id: str, fire: str, room: str) -> str:
    """The lock that decides which process handles one fire in one room."""
    return f"{PREFIX}callout:{callout_id}:fire:{fire}:{room}"


def callout_outcomes(callout_id: str, occurrence: str) -> str:
    """Hash: room id -> what became of one occurrence there (JSON: fire, status, key, why)."""
    return f"{PREFIX}callout:{callout_id}:occ:{occurrence}"


def callout_report_lock(callout_id: str, occurrence: str) -> str:
    return f"{PREFIX}callout:{callout_id}:reporting:{occurrence}"


def callout_reports(callout_id: str) -> str:
    """List: the latest delivery reports of a call-out (JSON), newest first."""
    return f"{PREFIX}callout:{callout_id}:reports"


# Rooms linked from chat (bridge.infra.links): settings and ids, never a code in the clear
LINKED = f"{PREFIX}linked"  # hash: room id -> a LinkedRoom's JSON
LINKED_VERSION = f"{PREFIX}linked:version"  # counts every link and unlink, for every process
LINKED_CHATS = f"{PREFIX}linked:chats"  # hash: "<bot>\t<chat>" -> room id (one room a chat)


def invite(digest: str) -> str:
    """Hash: an invite code's circle, maker and expiry, under the code's SHA-256 (48 h)."""
    return f"{PREFIX}invite:{digest}"


def invites(circle: str) -> str:
    """Sorted set: the digests of a circle's open invites, by expiry (``invite list``)."""
    return f"{PREFIX}invites:{circle}"


def link_failures(bot: str, chat: str) -> str:
    """Sorted set: wrong codes tried from one chat, by when (the last hour counts)."""
    return f"{PREFIX}linkfail:{bot}:{chat}"


def link_refused(bot: str, chat: str) -> str:
    """Until when (Unix seconds) a chat that tried five wrong codes in an hour is refused."""
    return f"{PREFIX}linkrefused:{bot}:{chat}"


def join_notice(room: str) -> str:
    """Set for an hour once a room's join (or leave) notice went out: one an hour at most."""
    return f"{PREFIX}joinnotice:{room}"


def unlinked(room: str) -> str:
    """A room unlinked from chat (its RoomConfig's JSON) while the message map may still name
    it: a retract deletes the copies made there while it was linked."""
    return f"{PREFIX}unlinked:{room}"


def pending_chats(bot: str) -> str:
    """Sorted set: chats a bot was added to that are not linked yet, by when it leaves them."""
    return f"{PREFIX}pending:{bot}"


def pending_adders(bot: str) -> str:
    """Hash: a pending chat -> a digest of the user who added or invited the bot there."""
    return f"{PREFIX}pending:{bot}:by"


# Counts members see (bridge.relay.reactions, bridge.relay.polls, bridge.callouts.rsvp):
# numbers and salted member hashes, never who; the kept copy of a reaction-counted message
# holds its text and goes with a retract; ``origin``: a MsgRef or its "<room>/<id>"
REACTIONS_DUE = f"{PREFIX}rx:due"  # zset: origins whose copies' count line is behind
RSVP_DUE = f"{PREFIX}rsvp:due"  # set: "<call-out id>|<occurrence>" whose report is behind


def reaction_copies(origin: object) -> str:
    """Hash: room -> the Delivery last sent there (circles with carry_reactions only)."""
    return f"{PREFIX}rx:d:{origin}"


def reaction_counts(origin: object) -> str:
    return f"{PREFIX}rx:c:{origin}"


def reaction_marks(origin: object) -> str:
    return f"{PREFIX}rx:m:{origin}"


def reaction_salt(origin: object) -> str:
    return f"{PREFIX}rx:s:{origin}"


def reaction_event(room: str, reaction_id: str) -> str:
    """A Matrix reaction's event id -> what it counted, so that its redaction takes it back."""
    return f"{PREFIX}rx:e:{room}:{reaction_id}"


def rsvp_counts(callout: str, occurrence: str) -> str:
    return f"{PREFIX}rsvp:c:{callout}:{occurrence}"


def rsvp_marks(callout: str, occurrence: str) -> str:
    return f"{PREFIX}rsvp:m:{callout}:{occurrence}"


def rsvp_salt(callout: str, occurrence: str) -> str:
    return f"{PREFIX}rsvp:s:{callout}:{occurrence}"


def rsvp_event(room: str, reaction_id: str) -> str:
    """A Matrix reaction's event id -> the RSVP answer it gave, so that its redaction takes
    it back."""
    return f"{PREFIX}rsvp:e:{room}:{reaction_id}"


def poll(origin: object) -> str:
    """Hash: ``.n`` options, ``.salt``, and per room the platform's counts of its copy."""
    return f"{PREFIX}poll:{origin}"


def poll_ballots(origin: object, room: str) -> str:
    return f"{PREFIX}poll:b:{origin}:{room}"


def poll_closed(origin: object) -> str:
    return f"{PREFIX}poll:closed:{origin}"
