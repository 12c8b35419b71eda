"""Typed configuration: the table in design.md, as pydantic models with its defaults.

Field-level rules live here. Rules that relate one part of the file to another (a room names
an existing bot, ids are unique, ...) live in ``bridge.config.crosscheck`` so that they run
even when some fields are invalid; the loader (``bridge.config.load``) reports both kinds together.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PrivateAttr,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from bridge.config import redis_url
from bridge.model.links import PENDING_MAX, PENDING_PER_SERVER
from bridge.model.settings import (
    BotSettings,
    Identifier,
    Language,
    Model,
    RoomConfig,
    Secret,
    Timezone,
)

__all__ = ["BotSettings", "Config", "RoomConfig", "Secret"]


class SentinelConfig(Model):
    master: str = Field(min_length=1)
    hosts: list[str] = Field(min_length=1)
    password: Secret | None = None

    @field_validator("hosts")
    @classmethod
    def _host_port(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            _, sep, port = host.rpartition(":")
            if not sep or not port.isdigit():
                raise ValueError(f"{host!r} is not host:port")
        return hosts


class RedisConfig(Model):
    url: str = ""
    sentinel: SentinelConfig | None = None
    shards: int = Field(default=16, ge=1, le=1024)
    # replicas that must hold each inbox entry and delivery record before the bridge goes
    # on (WAIT); unset: 1 with sentinel, 0 otherwise (docs/high-availability.md)
    min_replicas_ack: int | None = Field(default=None, ge=0, le=16)
    replica_ack_timeout_ms: int = Field(default=1000, ge=1, le=60_000)

    @property
    def replicas_to_ack(self) -> int:
        if self.min_replicas_ack is not None:
            return self.min_replicas_ack
        return 1 if self.sentinel is not None else 0

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: str) -> str:
        if url and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"{url.split(':', 1)[0]!r} is not redis://, rediss:// or unix://")
        return _redis_url(url) if url else url

    @model_validator(mode="after")
    def _one_source(self) -> RedisConfig:
        if self.url and self.sentinel:
            raise ValueError("give either url or sentinel, not both")
        return self

    @property
    def embedded(self) -> bool:
        return not self.url and self.sentinel is None


def _redis_url(url: str) -> str:
    """The URL with its password percent-encoded (any character works), checked for a
    port and a placeholder password; no message shows the password."""
    url = redis_url.normalize(url)
    try:
        urlsplit(url).port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError(
            "has a port that is not a number (redis://:PASSWORD@HOST:PORT/DB)"
        ) from None
    password = redis_url.password(url)
    if password is not None:
        try:
            _SECRET.validate_python(password)
        except ValidationError:
            raise ValueError(
                "still holds a placeholder password (or an empty one); put the real password "
                "in the environment: redis://:${REDIS_PASSWORD}@HOST:6379/0"
            ) from None
    return url


_SECRET: TypeAdapter[SecretStr] = TypeAdapter(Secret)


ATTRIBUTION_FIELDS = frozenset({"name", "room", "platform", "pseudonym"})


def _check_template(template: str) -> str:
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"is not a valid template: {exc}") from None
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in ATTRIBUTION_FIELDS:
            known = ", ".join("{" + f + "}" for f in sorted(ATTRIBUTION_FIELDS))
            raise ValueError(f"{{{field}}} is not a known placeholder (known: {known})")
        if spec or conversion:
            raise ValueError(f"{{{field}}} takes no format spec or conversion")
    return template


# words the chat commands read where a circle's name may stand: a circle so named could not
# be named there (``share confirm`` would confirm, ``invite list`` would list)
COMMAND_WORDS = {
    "confirm": "share confirm", "consented": "share", "lapsed": "share",
    "list": "invite list", "revoke": "invite revoke",
    "local": "callout add", "instant": "callout add", "rsvp": "callout add",
}  # fmt: skip


class CircleConfig(Model):
    id: Identifier
    rooms: list[str] = Field(min_length=2)
    relay: Literal["all", "moderated", "tagged"] = "moderated"
    tags: list[str] = Field(default_factory=list)
    attribution: Annotated[str, AfterValidator(_check_template)] = "{name} ({room})"
    anonymous: bool = False
    show_original: bool = False
    allow_unencrypted: bool = False
    carry_locations: bool = False  # a location crosses as one; else a note (a live one never)
    carry_reactions: bool = False  # copies show a count line of reactions (bridge.relay.reactions)
    share_reaction: str = Field(default="🕊", min_length=1, max_length=16)
    # after a share, authors may answer `no` for this long; the thread waits (0: no wait)
    consent_minutes: int = Field(default=0, ge=0, le=1440)
    fixes: Literal["moderated", "open"] = "moderated"  # members' fix: a moderator accepts

    @field_validator("id")
    @classmethod
    def _not_a_command_word(cls, circle_id: str) -> str:
        used = COMMAND_WORDS.get(circle_id.lower())
        if used is not None:
            raise ValueError(f"{circle_id!r} is a word of the chat command {used!r}, which "
                             "could not name this circle; choose another id")  # fmt: skip
        return circle_id

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        cleaned = [t.strip().lstrip("#").lower() for t in tags]
        for tag in cleaned:
            if not re.fullmatch(r"\w+", tag):
                raise ValueError(f"{tag!r} is not a tag: one word, without spaces")
        return cleaned

    @property
    def uses_pseudonym(self) -> bool:
        return "{pseudonym}" in self.attribution


def _check_person(value: str) -> str:
    # the shape only; each platform checks its own ids (bridge.config.crosscheck)
    platform, sep, who = value.partition(":")
    if not sep or not platform or not who:
        raise ValueError(f"{value!r} is not '<platform>:<user id>'")
    return value


Person = Annotated[str, AfterValidator(_check_person)]


class RetentionConfig(Model):
    message_map_days: int = Field(default=7, ge=1, le=3650)
    audit_days: int = Field(default=90, ge=1, le=3650)
    translation_cache_days: int = Field(default=7, ge=0, le=3650)
    recent_hours: int = Field(default=24, ge=0, le=24 * 90)
    translation_memory_days: int = Field(default=365, ge=1, le=3650)  # fixes, terms


PROVIDER_NAMES = (
    "libretranslate", "libre", "google", "google_web", "deepl", "microsoft", "mymemory",
)  # fmt: skip


class ProviderConfig(Model):
    """``url``: LibreTranslate's base URL, or for deepl/google/microsoft a replacement of the
    documented host (a proxy, the sandbox stand-ins); docs/translation.md says what goes where."""

    name: Literal[
        "libretranslate", "libre", "google", "google_web", "deepl", "microsoft", "mymemory"
    ]
    url: str | None = None
    api_key: Secret | None = None
    region: str | None = None
    formality: Literal["less", "more", "default"] | None = None  # deepl; None: less

    @model_validator(mode="after")
    def _needs(self) -> ProviderConfig:
        if self.name in ("libretranslate", "libre") and not self.url:
            raise ValueError("libretranslate needs url: the base URL of your LibreTranslate")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url {self.url!r} is not http:// or https://")
        if self.name == "google" and self.api_key is None:
            raise ValueError("google now means Google Cloud Translation and needs api_key; "
                             "for the unofficial keyless web endpoint, use google_web")  # fmt: skip
        if self.name in ("deepl", "microsoft") and self.api_key is None:
            raise ValueError(f"{self.name} needs api_key")
        if self.name in ("google_web", "mymemory") and self.api_key is not None:
            raise ValueError(f"{self.name} takes no api_key")
        if self.region and self.name != "microsoft":
            raise ValueError("region applies to microsoft only")
        if self.formality and self.name != "deepl":
            raise ValueError("formality applies to deepl only")
        return self

    @property
    def canonical_name(self) -> str:
        return "libretranslate" if self.name == "libre" else self.name


class TranslationConfig(Model):
    providers: list[ProviderConfig] = Field(default_factory=list)
    timeout_s: float = Field(default=8.0, gt=0, le=120)
    glossary: Path | None = None
    # a folder of .po files that correct or add the bridge's own texts (bridge.model.catalogs)
    locale_dir: Path | None = None
    # characters sent to each provider per UTC day; past it, originals with a note
    daily_char_budget: int | None = Field(default=None, ge=1)


class LimitsConfig(Model):
    """Token buckets on what crosses (bridge.relay.limits): over them, held."""

    per_sender_per_minute: int = Field(default=20, ge=1, le=10_000_000)
    per_room_per_minute: int = Field(default=60, ge=1, le=10_000_000)


PSEUDONYM_KEY_BYTES = 32
AT_FORMAT = "%Y-%m-%d %H:%M"


def _check_at(value: Any) -> Any:
    from datetime import datetime

    if not isinstance(value, str):
        raise ValueError('write the time as a quoted string, "YYYY-MM-DD HH:MM"')  # noqa: TRY004
    try:
        datetime.strptime(value, AT_FORMAT)  # noqa: DTZ007 - a naive wall time, zoned later
    except ValueError:
        raise ValueError(f'{value!r} is not "YYYY-MM-DD HH:MM"') from None
    return value


def _check_cron(value: str) -> str:
    from bridge.config.cron import parse_cron

    parse_cron(value, "UTC")  # raises ValueError with a readable message
    return value


class CalloutConfig(Model):
    id: Identifier
    circles: list[str] = Field(default_factory=list)
    rooms: list[str] = Field(default_factory=list)
    at: Annotated[str, BeforeValidator(_check_at)] | None = None
    cron: Annotated[str, AfterValidator(_check_cron)] | None = None
    mode: Literal["local", "instant"] = "local"
    tz: Timezone = "UTC"
    language: Language
    text: str = Field(min_length=1, max_length=4000)
    pin: bool = False
    rsvp: bool = False  # copies invite ✊/🤔 or `rsvp yes|maybe|no`; the report counts them
    report_to: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> CalloutConfig:
        if (self.at is None) == (self.cron is None):
            raise ValueError("give exactly one of at or cron")
        if not self.circles and not self.rooms:
            raise ValueError("give circles, rooms, or both")
        return self


class LinkConfig(Model):
    """Rooms linked from chat (docs/adding-a-city.md)."""

    # false: `invite` is refused, and a bot added to an unconfigured chat leaves it at once
    invites: bool = True
    # Matrix rooms waiting for a link at once whose inviters are users of one homeserver (0: no
    # such cap): whoever runs a server has as many accounts as she likes, but on a server many
    # cities share (matrix.org), a few throwaway accounts there can hold its places
    per_server: int = Field(default=PENDING_PER_SERVER, ge=0, le=PENDING_MAX)
    # Matrix servers whose users' invites the bot declines (e.g. "spam.example")
    refuse_servers: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list
    )

    @field_validator("refuse_servers")
    @classmethod
    def _servers(cls, servers: list[str]) -> list[str]:
        cleaned = [s.strip().lower() for s in servers]
        for server in cleaned:
            if not re.fullmatch(r"[a-z0-9.-]+(:[0-9]{1,5})?", server):
                raise ValueError(f"{server!r} is not a server name (like matrix.example.org)")
        return cleaned


class Config(Model):
    data_dir: Path = Path("./translocal-data")
    redis: RedisConfig = Field(default_factory=RedisConfig)
    bots: list[BotSettings] = Field(min_length=1)
    rooms: list[RoomConfig] = Field(min_length=1)
    circles: list[CircleConfig] = Field(default_factory=list)
    moderators: list[Person] = Field(default_factory=list)
    organizers: list[Person] = Field(default_factory=list)
    pseudonym_key: Secret | None = None
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    ops_room: str | None = None
    callout_grace_minutes: int = Field(default=10, ge=0, le=24 * 60)
    translation: TranslationConfig = Field(default_factory=TranslationConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    callouts: list[CalloutConfig] = Field(default_factory=list)
    link: LinkConfig = Field(default_factory=LinkConfig)
    # rooms linked from chat, laid over ``rooms`` and the circles' rooms by
    # bridge.config.linked.merge (in place: every part of a run shares this object);
    # counted in ``_generation`` so that what a part worked out from the rooms is redone
    _linked: dict[str, Any] = PrivateAttr(default_factory=dict)
    _generation: int = PrivateAttr(default=0)

    @field_validator("pseudonym_key")
    @classmethod
    def _key_length(cls, key: SecretStr | None) -> SecretStr | None:
        # an HMAC key that short can be guessed, and with it every pseudonym undone
        if key is not None and len(key.get_secret_value().encode()) < PSEUDONYM_KEY_BYTES:
            raise ValueError(
                f"is {len(key.get_secret_value().encode())} bytes; a pseudonym key needs at "
                f"least {PSEUDONYM_KEY_BYTES} (e.g. openssl rand -base64 32)"
            )
        return key

    def bot(self, bot_id: str) -> BotSettings:
        return next(b for b in self.bots if b.id == bot_id)

    def room(self, room_id: str) -> RoomConfig:
        return next(r for r in self.rooms if r.id == room_id)

    def rooms_of(self, bot_id: str) -> list[RoomConfig]:
        return [r for r in self.rooms if r.bot == bot_id]

    def secrets(self) -> list[str]:
        """Every secret value in the config, for log redaction."""
        found: list[str] = []
        _collect_secrets(self, found)
        password = urlsplit(self.redis.url).password if self.redis.url else None
        if password:  # as written (percent-encoded) and as sent
            found += [password, redis_url.password(self.redis.url) or ""]
        return [s for s in found if len(s) >= 4]


def _collect_secrets(value: Any, out: list[str]) -> None:
    if isinstance(value, SecretStr):
        out.append(value.get_secret_value())
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _collect_secrets(getattr(value, name), out)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect_secrets(item, out)
