"""Hostile cases against the real relay, deliverers and Redis, with in-memory bots: forged
edits and deletes, deletions that must purge like a retract, and an encrypted thread whose
target room stops being encrypted before its copy is sent (issue 17, points 1, 5 and 9)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import redis.asyncio

from bridge.model import keys
from bridge.model.envelope import Media
from bridge.model.media import MediaStore
from bridge.moderation.audit import Audit
from tests.bridge.test_moderation import answers, copies, settled
from tests.harness import committed, eventually, eventually_async, memory_config, running
from tests.memory_bot import NETWORK, PermanentFailure, RetryLater


async def _blob(redis: redis.asyncio.Redis, data: bytes) -> Media:
    media = Media(kind="file", name="plan.txt", mime="text/plain")
    return await MediaStore(redis, 3600).take(media, data)


async def _everything(redis: redis.asyncio.Redis) -> list[str]:
    """Every value under the prefix, as text."""
    found = []
    async for key in redis.scan_iter("tl:*"):
        kind = await redis.type(key)
        if kind == "string":
            found.append(str(await redis.execute_command("GET", key, NEVER_DECODE=True)))
        elif kind == "stream":
            found.extend(str(e) for e in await redis.xrange(key))
        elif kind == "hash":
            found.extend(str(v) for v in (await redis.hgetall(key)).values())
    return found


async def test_an_edit_from_someone_else_changes_no_copy_and_the_authors_own_edit_does(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        cdmx = net.bot("a")
        first = await cdmx.post("a1", "Asamblea el jueves", name="Ana")
        await eventually(lambda: len(copies("b1", "Asamblea el jueves")) == 1)
        # Mallory edits Ana's message (the platform let her), under Ana's own name
        await cdmx.edit("a1", first, "Asamblea cancelada", who="mallory", name="Ana")
        # in the same batch as a message and its edit, too
        second = await cdmx.post("a1", "Traigan agua", name="Ana")
        await cdmx.edit("a1", second, "No traigan nada", who="mallory", name="Ana")
        await cdmx.edit("a1", first, "Asamblea el jueves a las 7", name="Ana")
        await eventually(lambda: len(copies("b1", "a las 7")) == 1)
        await eventually(lambda: len(copies("b1", "Traigan agua")) == 1)
        await settled(net)
    assert not copies("b1", "cancelada")
    assert not copies("b1", "No traigan")
    assert copies("b1", "a las 7")[0].text.startswith("Ana (CDMX): ")
    edits = [d for d in NETWORK.log if d.action == "edit" and d.chat == "b1"]
    assert len(edits) == 1


async def test_a_delete_from_someone_else_is_refused_and_a_moderators_is_a_retract(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    cfg = memory_config(tmp_path, redis_url, moderators=["memory:mod"])
    async with running(cfg) as (_, net):
        cdmx = net.bot("a")
        first = await cdmx.post("a1", "Punto de encuentro: la plaza", name="Ana")
        await eventually(lambda: len(copies("b1", "la plaza")) == 1)
        await cdmx.delete("a1", first, who="mallory")  # not hers, not a moderator
        await eventually_async(lambda: _audited(redis_client, "memory:mallory", "refused"))
        await eventually(lambda: len(answers("a1")) == 1)  # told, in the room's language
        await settled(net)
        assert len(copies("b1", "la plaza")) == 1
        await cdmx.delete("a1", first, who="mod")  # a moderator's delete: a retract
        await eventually(lambda: not copies("b1", "la plaza") and not copies("c1", "la plaza"))
        await eventually_async(lambda: _audited(redis_client, "memory:mod", "done"))
    assert not any("la plaza" in text for text in await _everything(redis_client))
    trail = [(e.who, e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert ("memory:mallory", "retract", "refused") in trail
    assert ("memory:mod", "retract", "done") in trail


async def test_a_retract_purges_the_media_blob(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    data = b"home address: Calle Sol 5, the blob"
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        cdmx = net.bot("a")
        media = await _blob(redis_client, data)
        posted = await cdmx.post("a1", "El plano", name="Ana", media=media)
        await eventually(lambda: len(copies("b1", "El plano")) == 1)
        assert await redis_client.exists(media.blob)
        await cdmx.command("a1", "retract", reply_to=posted, who="ana")
        await eventually(lambda: not copies("b1", "El plano"))
    assert media.blob == keys.media(hashlib.sha256(data).hexdigest())
    assert not await redis_client.exists(media.blob)


async def test_the_authors_delete_purges_everything_a_retract_does(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    data = b"the list of names, a blob"
    cfg = memory_config(tmp_path, redis_url, relay="moderated")
    async with running(cfg) as (_, net):
        cdmx = net.bot("a")
        net.bot("c").faults.append(PermanentFailure("refused"))  # NYC's copy: a dead letter
        media = await _blob(redis_client, data)
        secret = await cdmx.post("a1", "La lista de nombres", name="Ana", media=media)
        await cdmx.command("a1", "share", reply_to=secret, who="mod", admin=True)
        await eventually(lambda: len(copies("b1", "La lista")) == 1)
        await eventually_async(lambda: _dead_letters(redis_client))
        await committed(net)
        assert await redis_client.exists(keys.recent("cdmx", secret))
        await cdmx.delete("a1", secret, who="ana")  # Ana deletes it in her chat
        await eventually(lambda: not copies("b1", "La lista"))
    found = await _everything(redis_client)
    assert not any("La lista" in text for text in found)  # recent buffer, dead letters
    assert not await redis_client.exists(media.blob)
    trail = [(e.who, e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert ("memory:ana", "retract", "done") in trail


async def _audited(redis: redis.asyncio.Redis, who: str, outcome: str) -> bool:
    trail = await Audit(redis, 90).read()
    return any((e.who, e.action, e.outcome) == (who, "retract", outcome) for e in trail)


async def _dead_letters(redis: redis.asyncio.Redis) -> bool:
    return bool(await redis.xlen(keys.DEAD_LETTERS))


async def test_an_encrypted_thread_never_reaches_a_room_that_became_unencrypted_before_sending(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    NETWORK.encrypted.update({"a1", "b1"})  # CDMX and Berlin are encrypted, NYC is not
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        berlin = net.bot("b")
        berlin.faults.append(RetryLater(1.5, "the platform asked to wait"))
        await net.bot("a").post("a1", "La casa segura está en la calle Luna", name="Ana")
        await eventually(lambda: not berlin.faults, what="the first attempt")
        # before the retry, Berlin is no longer known to be encrypted (an upgrade, an operator)
        await redis_client.srem(keys.bot_state("b", "encrypted"), "b1")
        await eventually(lambda: any("Berlin" in a for a in answers("a1")), 30)
        notice = next(a for a in answers("a1") if "Berlin" in a)  # the operator is told why
    assert not copies("b1", "calle Luna")
    assert not copies("c1", "calle Luna")  # NYC is not encrypted: held when routing
    assert "calle Luna" not in notice
    (_, fields), *_ = await redis_client.xrange(keys.DEAD_LETTERS)
    assert fields["bot"] == "b"
    assert "no longer known to be encrypted" in fields["reason"]
