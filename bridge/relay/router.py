"""The relay pipeline: one inbound envelope in, the deliveries it makes out.

drop own/looped/unconfigured -> commands (seam) -> circle policy -> translate once per target
language (seam) -> attribute -> one Delivery per target room, plus the origin's map record.
No platform library types here: adapters render deliveries for their platform.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import cast

from prometheus_client import Counter
from redis.asyncio import Redis

from bridge.config.linked import generation
from bridge.config.models import CircleConfig, Config, RoomConfig
from bridge.infra.metrics import MESSAGES_IN
from bridge.model import keys
from bridge.model.envelope import Action, Delivery, Envelope, MsgRef, Sender, Span, SpanKind
from bridge.model.i18n import Param, _, render
from bridge.model.platforms import Platform
from bridge.relay.attribution import acted, attribution
from bridge.relay.encryption import Encryption
from bridge.relay.limits import Limits, held_text
from bridge.relay.maps import MapReader
from bridge.relay.notices import localize, notice_in
from bridge.relay.polls import poll_copies
from bridge.relay.seams import Actions, BasePolicy, NoActions, Policy
from bridge.relay.translate import PassThrough, Translator
from translation.protect import Mark
from translation.translator import Result

log = logging.getLogger(__name__)

CREDITS_KEPT = 10_000  # attributions worked out (see _credit)
AUTHORS_KEPT = 50_000  # origins planned by this worker whose senders it remembers (see _authors)
LOCATION_NOT_CARRIED = _("[location not carried]")  # circles without carry_locations: true


@dataclass
class Plan:
    """What one envelope comes to. ``reason`` says why nothing crossed, for logs (no text)."""

    envelope: Envelope | None
    deliveries: list[Delivery] = field(default_factory=list)
    origin: MsgRef | None = None
    record: dict[str, str] = field(default_factory=dict)  # origin map record, ids only
    reason: str = ""


class Router:
    def __init__(
        self,
        config: Config,
        platforms: dict[str, Platform],
        redis: Redis,
        *,
        policy: Policy | None = None,
        actions: Actions | None = None,
        translator: Translator | None = None,
    ) -> None:
        self.config = config
        self.policy: Policy = policy or BasePolicy()
        self.actions: Actions = actions or NoActions()
        self.limits = Limits(config.limits)  # this worker's buckets (see bridge.relay.limits)
        self.translator = translator or PassThrough()
        self.maps = MapReader(redis)
        self.platform_of = {b.id: b.platform for b in config.bots}
        self.prefix_of = {
            b.id: platforms[b.platform].command_prefix if b.platform in platforms else "/"
            for b in config.bots
        }
        # the senders of messages planned here, for their edits and deletes while the map
        # record is not committed yet (a message and its edit in one batch)
        self._authors: dict[tuple[str, str], str] = {}  # (room, message id) -> sender
        self._counters: dict[str, Counter] = {}  # MESSAGES_IN per room, looked up once
        self._credits: dict[tuple[str, str, str, str], str] = {}
        self._reaches: dict[str, tuple[list[CircleConfig], frozenset[str]]] = {}
        self.own: set[str] = set()
        may_encrypt: set[str] = set()  # bots whose rooms can be end-to-end encrypted
        for bot in config.bots:
            platform = platforms.get(bot.platform)
            identity = platform.identity(bot) if platform else None
            if identity:
                self.own.add(identity)
            if platform is not None and platform.encryption:
                may_encrypt.add(bot.id)
        self._generation = -1
        self._derive()
        self.key = (
            config.pseudonym_key.get_secret_value().encode() if config.pseudonym_key else None
        )
        self.redis = redis
        self.encryption = Encryption(config, redis, may_encrypt)

    def _derive(self) -> None:
        """What the router works out from the rooms: again whenever rooms were linked or
        unlinked (bridge.config.linked)."""
        config = self.config
        self._generation = generation(config)
        self.rooms = {r.id: r for r in config.rooms}
        self._by_chat: dict[tuple[str, str, int | None], RoomConfig] = {
            (r.bot, r.chat, r.topic): r for r in config.rooms
        }
        self.circles_of: dict[str, list[str]] = {r.id: [] for r in config.rooms}
        self.circles = {c.id: c for c in config.circles}
        for circle in config.circles:
            for room_id in circle.rooms:
                self.circles_of[room_id].append(circle.id)
        self._reaches.clear()

    def _credit(self, circle: CircleConfig, room: RoomConfig, platform: str, sender: Sender) -> str:
        """The attribution of ``sender`` in ``circle``, worked out once per name (a member's
        messages come one after another; a name change is a new entry)."""
        cache_key = (circle.id, room.id, sender.id, sender.name)
        credit = self._credits.get(cache_key)
        if credit is None:
            if len(self._credits) >= CREDITS_KEPT:
                self._credits.clear()
            credit = attribution(circle, room, platform, sender, self.key)
            self._credits[cache_key] = credit
        return credit

    def _reach(self, room: RoomConfig) -> tuple[list[CircleConfig], frozenset[str]]:
        """The circles of ``room`` and the other rooms they link, worked out once."""
        found = self._reaches.get(room.id)
        if found is None:
            circles = [self.circles[c] for c in self.circles_of[room.id]]
            others = frozenset(r for c in circles for r in c.rooms if r != room.id)
            found = self._reaches[room.id] = (circles, others)
        return found

    def _count_in(self, room: RoomConfig) -> None:
        counter = self._counters.get(room.id)
        if counter is None:
            counter = MESSAGES_IN.labels(room.id, self.platform_of[room.bot])
            self._counters[room.id] = counter
        counter.inc()

    def room_of(self, envelope: Envelope) -> RoomConfig | None:
        """The configured room an envelope comes from: the chat's topic, else the whole chat."""
        if self._generation != generation(self.config):
            self._derive()
        found = self._by_chat.get((envelope.bot, envelope.chat, envelope.topic))
        if found is None and envelope.topic is not None:
            found = self._by_chat.get((envelope.bot, envelope.chat, None))
        return found

    async def plan(self, envelope: Envelope, batch: MutableMapping[MsgRef, MsgRef]) -> Plan:
        """``batch`` maps origins planned recently (maybe not committed yet) to their roots."""
        room = self.room_of(envelope)
        if room is None:
            return Plan(envelope, reason="unconfigured chat")
        if envelope.kind == "joined":  # the bot itself was added to a configured room
            return Plan(envelope, await self.actions.event(self, envelope, room), reason="joined")
        if envelope.sender.is_bot or envelope.sender.id in self.own:
            return Plan(envelope, reason="from a bot")
        if envelope.kind == "command":  # commands never cross; they act and answer here
            return Plan(
                envelope, await self.actions.command(self, envelope, room), reason="command"
            )
        if envelope.kind in ("reaction", "vote"):  # a vote: bridge.commands.polls counts it
            return Plan(envelope, await self.actions.event(self, envelope, room), reason="reaction")
        origin = MsgRef(room=room.id, id=envelope.message_id)
        if envelope.kind == "message":
            return await self._message(envelope, room, origin, batch)
        return await self._follow_up(envelope, room, origin)

    async def _message(
        self,
        envelope: Envelope,
        room: RoomConfig,
        origin: MsgRef,
        batch: MutableMapping[MsgRef, MsgRef],
    ) -> Plan:
        parent: MsgRef | None = None
        root = origin
        if envelope.reply_to:
            local = MsgRef(room=room.id, id=envelope.reply_to)
            if local in batch:
                parent, root = local, batch[local]
            else:
                parent, parent_root = await self.maps.canonical(room.id, envelope.reply_to)
                root = batch.get(parent) or parent_root or parent
        batch[origin] = root
        self._count_in(room)
        record = {".sender": envelope.sender.id, ".root": str(root), ".ts": str(int(envelope.ts))}
        if envelope.media is not None and envelope.media.blob:
            record[".media"] = envelope.media.blob  # so that a retract purges the bytes too
        self._authors[(room.id, envelope.message_id)] = envelope.sender.id
        if len(self._authors) > AUTHORS_KEPT:
            del self._authors[next(iter(self._authors))]
        plan = Plan(envelope, origin=origin, record=record)
        await self.policy.remember(envelope, room, root)
        if not room.send:
            plan.reason = "send-only room is receive-only"
            return plan
        targets = await self._targets(envelope, room, root, policy=True)
        held = await self.encryption.withhold(envelope, targets)
        if held:
            plan.deliveries.extend(await self.encryption.notice(room, root, held, self.translator))
        if not targets:
            plan.reason = "no circle lets it cross"
            return plan
        over = self.limits.admit(room.id, envelope.sender.id)
        if over is not None:  # held: it crosses nowhere; the moderators hear of it once
            plan.reason = f"over the {over.who} limit"
            if over.notify:
                text = held_text(over, envelope.sender.name)
                plan.deliveries.append(await self.notice_to(room, text, envelope))
            return plan
        out = await (
            poll_copies(self, envelope, room, origin, targets, parent)
            if envelope.poll
            else self._render(envelope, room, origin, targets, "send", parent)
        )
        plan.deliveries += await self.policy.screen(envelope, room, out, self.rooms, self.prefix_of)
        return plan

    async def _follow_up(self, envelope: Envelope, room: RoomConfig, origin: MsgRef) -> Plan:
        """An edit crosses only from the origin message's own sender: on Matrix anyone may
        send an edit of anyone's message (clients ignore it; carried, it would change the
        copies under a name the editor chose). It goes wherever a copy may be, whatever the
        policy says now (a fixed date): the deliverer skips rooms where no copy was made.

        A delete is a retract, through the one retract command, whose rights decide (the
        author, or a moderator of the room: a moderator's redaction): every copy deleted, the
        text purged from everything the bridge holds, audited. Only the author's delete of a
        message no copy was recorded of yet goes quietly: the buffer forgets it, and copies
        still on their way are deleted after them."""
        record = await self.maps.record(origin)
        author = record.get(".sender") or self._authors.get((origin.room, origin.id))
        if author is None:
            return Plan(envelope, await self.actions.event(self, envelope, room), reason="unknown")
        copied = any(not field.startswith(".") for field in record)
        if envelope.kind == "delete" and (envelope.sender.id != author or copied):
            retract = envelope.model_copy(
                update={"kind": "command", "command": "retract", "args": "",
                        "reply_to": envelope.message_id}
            )  # fmt: skip
            deliveries = await self.actions.command(self, retract, room)
            return Plan(envelope, deliveries, reason="deleted: a retract")
        if envelope.sender.id != author:
            return Plan(envelope, reason="an edit by someone other than the author: dropped")
        plan = Plan(envelope, origin=origin)
        await self.policy.revise(envelope, room)
        targets = await self._targets(envelope, room, origin, policy=False)
        await self.encryption.withhold(envelope, targets)
        action: Action = "edit" if envelope.kind == "edit" else "delete"
        plan.deliveries = await self._render(envelope, room, origin, targets, action, None)
        return plan

    async def _targets(
        self, envelope: Envelope, room: RoomConfig, root: MsgRef, *, policy: bool
    ) -> dict[str, tuple[RoomConfig, str, CircleConfig]]:
        """Target room id -> (room, attribution, circle), by the first circle linking them."""
        circles, reachable = self._reach(room)
        if policy:  # decided in the moderation state's in-process mirror
            gate = await self.policy.gate(envelope, room, root, circles, set(reachable))
            circles = [c for c in circles if c.id in gate.circles]
        targets: dict[str, tuple[RoomConfig, str, CircleConfig]] = {}
        platform = self.platform_of[room.bot]
        for circle in circles:
            credit = self._credit(circle, room, platform, envelope.sender)
            for other in circle.rooms:
                target = self.rooms[other]
                if other == room.id or not target.receive or other in targets:
                    continue
                if policy and other not in gate.rooms:
                    continue
                targets[other] = (target, credit, circle)
        return targets

    async def replan(self, envelope: Envelope, room: RoomConfig) -> list[Delivery]:
        """The deliveries a remembered message makes now (after a share). Rooms that have
        its copy already get none: the delivery keys are the ones it had the first time."""
        origin = MsgRef(room=room.id, id=envelope.message_id)
        parent: MsgRef | None = None
        root = origin
        if envelope.reply_to:
            parent, parent_root = await self.maps.canonical(room.id, envelope.reply_to)
            root = parent_root or parent
        if envelope.sender.is_bot or envelope.sender.id in self.own or not room.send:
            return []
        targets = await self._targets(envelope, room, root, policy=True)
        await self.encryption.withhold(envelope, targets)
        copied = await self.maps.record(origin)
        await self.redis.delete(keys.retracted(str(origin)))  # shared again after a retract
        for room_id in copied:  # it crossed there before: no second copy
            targets.pop(str(room_id), None)
        made = await (
            poll_copies(self, envelope, room, origin, targets, parent)
            if envelope.poll
            else self._render(envelope, room, origin, targets, "send", parent)
        )
        return await self.policy.screen(envelope, room, made, self.rooms, self.prefix_of)

    def circles_of_room(self, room_id: str) -> list[CircleConfig]:
        return [self.circles[c] for c in self.circles_of.get(room_id, [])]

    def command_prefix(self, room: RoomConfig) -> str:
        """How members of this room type a command."""
        return self.prefix_of[room.bot]

    async def notice_to(self, room: RoomConfig, text: Param, answering: Envelope) -> Delivery:
        """The bridge's own text in ``room``'s language (its catalog; machine-translated once,
        then cached, for a language without one), as a reply to ``answering``."""
        shown = await localize(text, room.language, self.translator)
        key = f"answer:{answering.key}:{uuid.uuid4().hex[:8]}"
        return notice_in(room, shown, key=key, reply_to=answering.message_id)

    async def _render(
        self,
        envelope: Envelope,
        room: RoomConfig,
        origin: MsgRef,
        targets: dict[str, tuple[RoomConfig, str, CircleConfig]],
        action: Action,
        parent: MsgRef | None,
    ) -> list[Delivery]:
        results: dict[str, Result] = {}
        if action != "delete" and targets:
            languages = {target.language for target, _c, _k in targets.values()}
            marks = [Mark(sp.start, sp.end, sp.kind, sp.url) for sp in envelope.spans]
            results = await self.translator.translate(
                envelope.text, room.language, languages, marks, str(origin), envelope.sender.name
            )
        out: list[Delivery] = []
        for target, credit, circle in targets.values():
            result = results.get(target.language)
            text = result.text if result else ""
            shown = result.marks if result else ()
            spans = tuple(
                Span(start=m.start, end=m.end, kind=cast(SpanKind, m.kind), url=m.url)
                for m in shown
            ) if shown else ()  # fmt: skip
            translated = result is not None and result.status == "translated"
            original = envelope.text if translated and circle.show_original else ""
            keep = envelope.encrypted and not circle.allow_unencrypted and action != "delete"
            location = envelope.location if action != "delete" else None
            if location is not None and (location.live or not circle.carry_locations):
                location, note = None, render(LOCATION_NOT_CARRIED, target.language)
                text = f"{text}\n{note}" if text else note
            if envelope.emote and action != "delete":  # the actor as this circle shows people
                text, spans = acted(credit, text, spans)
                original = acted(credit, original, ())[0] if original else ""
            own = dict(
                key=f"{envelope.key}>{target.id}",
                attribution=credit if action != "delete" else "",
                text=text,
                spans=spans,
                language=target.language,
                source_language=result.source if result else room.language,
                translated=translated,
                untranslated=result is not None and result.status == "failed",
                original=original,
                keep_encrypted=keep,
                location=location,
            )
            if out:  # what all copies share is validated once, in the first
                out.append(out[0].sibling(target, **own))
                continue
            media = envelope.media if action != "delete" else None
            out.append(
                Delivery.to(
                    target,
                    action=action,
                    origin=origin,
                    reply_to=parent,
                    media=media,
                    received=envelope.received,
                    **own,
                )
            )
        return out
