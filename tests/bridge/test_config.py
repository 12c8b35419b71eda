"""Config loading: every cross-check, all problems at once, secrets, the example, env vars."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from bridge.config.load import load_config
from bridge.model.errors import ConfigError
from tests.helpers import ENV, TOKEN, minimal_config, run_cli, write_config

ROOT = Path(__file__).resolve().parents[2]


def problems_of(
    tmp_path: Path, cfg: dict[str, Any], env: dict[str, str] | None = None
) -> list[str]:
    path = write_config(tmp_path / "config.yaml", cfg)
    with pytest.raises(ConfigError) as info:
        load_config(path, env=ENV if env is None else env)
    return [str(p) for p in info.value.problems]


def mutate(fn: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(minimal_config())
    fn(cfg)
    return cfg


def test_minimal_config_loads_with_defaults(tmp_path: Path) -> None:
    loaded = load_config(write_config(tmp_path / "c.yaml", minimal_config()), env=ENV)
    cfg = loaded.config
    assert cfg.redis.embedded
    assert cfg.redis.shards == 16
    assert cfg.retention.message_map_days == 7
    assert cfg.retention.recent_hours == 24
    assert cfg.callout_grace_minutes == 10
    assert cfg.translation.timeout_s == 8
    assert cfg.circles[0].relay == "moderated"
    assert cfg.circles[0].attribution == "{name} ({room})"
    assert cfg.circles[0].share_reaction == "🕊"
    assert cfg.rooms[0].timezone == "UTC"
    assert (cfg.rooms[0].send, cfg.rooms[0].receive) == (True, True)
    assert cfg.bot("mx").device_name == "translocal"  # type: ignore[attr-defined]
    assert cfg.bot("tg").api_url == "https://api.telegram.org"  # type: ignore[attr-defined]
    assert loaded.warnings == []


def test_unquoted_telegram_chat_id_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    text = write_config(path, minimal_config()).read_text()
    assert "chat: -1001\n" in text  # unquoted in the YAML
    loaded = load_config(path, env=ENV)
    assert loaded.config.room("cdmx").chat == "-1001"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda c: c["rooms"][0].update(bot="nobody"),
            r"^rooms\[0\]\.bot: 'nobody' is not the id of any bot \(line \d+\)$",
        ),
        (
            lambda c: c["circles"][0]["rooms"].append("atlantis"),
            r"^circles\[0\]\.rooms\[2\]: 'atlantis' is not the id of any room \(line \d+\)$",
        ),
        (
            lambda c: c["rooms"][1].update(id="cdmx"),
            r"^rooms\[1\]\.id: 'cdmx' is used twice \(also rooms\[0\]\)",
        ),
        (
            lambda c: c["bots"][1].update(id="tg"),
            r"^bots\[1\]\.id: 'tg' is used twice \(also bots\[0\]\)",
        ),
        (
            lambda c: c["circles"].append({"id": "housing", "rooms": ["cdmx", "berlin"]}),
            r"^circles\[1\]\.id: 'housing' is used twice",
        ),
        (
            lambda c: c["rooms"][0].update(language="esp"),
            r"^rooms\[0\]\.language: 'esp' is not an ISO 639-1 language code",
        ),
        (
            lambda c: c["rooms"][0].update(language="pt-BR"),
            r"^rooms\[0\]\.language: 'pt-BR' is not an ISO 639-1 language code \(use 'pt'",
        ),
        (
            lambda c: c["rooms"][1].update(timezone="Europe/Berlim"),
            r"^rooms\[1\]\.timezone: 'Europe/Berlim' is not a known timezone \(line \d+\)$",
        ),
        (
            lambda c: c.update(
                callouts=[
                    {
                        "id": "x",
                        "rooms": ["cdmx"],
                        "cron": "0 18 * * 9",
                        "language": "en",
                        "text": "hi",
                    }
                ]
            ),
            r"^callouts\[0\]\.cron: '0 18 \* \* 9' is not a valid cron expression",
        ),
        (
            lambda c: c.update(
                callouts=[
                    {
                        "id": "x",
                        "rooms": ["cdmx"],
                        "cron": "0 0 31 2 *",
                        "language": "en",
                        "text": "hi",
                    }
                ]
            ),
            r"^callouts\[0\]\.cron: '0 0 31 2 \*' never fires",
        ),
        (
            lambda c: c.update(
                callouts=[
                    {
                        "id": "x",
                        "circles": ["nope"],
                        "at": "2030-01-01 10:00",
                        "language": "en",
                        "text": "t",
                    }
                ]
            ),
            r"^callouts\[0\]\.circles\[0\]: 'nope' is not the id of any circle",
        ),
        (
            lambda c: c.update(ops_room="nowhere"),
            r"^ops_room: 'nowhere' is not the id of any room",
        ),
        (
            lambda c: c["rooms"][1].update(chat="berlin-room"),
            r"^rooms\[1\]\.chat: 'berlin-room' is not a Matrix room id",
        ),
        (
            lambda c: c["rooms"][0].update(chat="general"),
            r"^rooms\[0\]\.chat: 'general' is not a Telegram chat id",
        ),
        (
            lambda c: c["circles"][0].update(attribution="{name} from {city}"),
            r"^circles\[0\]\.attribution: \{city\} is not a known placeholder",
        ),
        (
            lambda c: c["circles"][0].update(attribution="{pseudonym} ({room})"),
            r"^pseudonym_key: is required because a circle uses \{pseudonym\}",
        ),
        (
            lambda c: c["circles"][0].update(share_reaction="🌍"),
            r"^circles\[0\]\.share_reaction: '🌍' is not among telegram's reactions",
        ),
        (
            lambda c: c["circles"][0].update(relay="tagged"),
            r"^circles\[0\]\.tags: relay 'tagged' needs at least one tag",
        ),
        (
            lambda c: c["circles"][0].update(id="Confirm"),
            r"^circles\[0\]\.id: 'Confirm' is a word of the chat command 'share confirm', "
            r"which could not name this circle; choose another id",
        ),
        (
            lambda c: c["rooms"][0].update(id="rsvp"),
            r"^rooms\[0\]\.id: 'rsvp' is a word of the chat command 'callout add', which "
            r"could not name this room; choose another id",
        ),
        (
            lambda c: c.update(link={"per_server": 21}),
            r"^link\.per_server: ",
        ),
        (
            lambda c: c["bots"][0].update(platform="irc"),
            r"^bots\[0\]\.platform: 'irc' is not a known platform "
            r"\(known: matrix, (memory, )?telegram\)",
        ),
        (
            lambda c: c["bots"][1].update(pasword="x"),
            r"^bots\[1\]\.pasword: is not a known key; did you mean 'password'\?",
        ),
        (
            lambda c: c["bots"][1].pop("password"),
            r"^bots\[1\]: give password or access_token",
        ),
        (
            lambda c: c["rooms"][1].update(topic=3),
            r"^rooms\[1\]\.topic: matrix rooms have no topics",
        ),
        (
            lambda c: c["bots"][0].update(webhook_url="http://bridge.example.org/tg"),
            r"^bots\[0\]: Telegram sends webhooks to https:// URLs only",
        ),
        (
            lambda c: c["bots"][0].update(webhook_url="ftp://bridge.example.org/tg"),
            r"^bots\[0\]: webhook_url 'ftp://bridge.example.org/tg' is not an https:// URL",
        ),
        (
            lambda c: c.update(redis={"url": "http://localhost:6379"}),
            r"^redis\.url: 'http' is not redis://, rediss:// or unix://",
        ),
    ],
)
def test_each_check_rejects_a_bad_file_with_its_line(
    tmp_path: Path, change: Any, expected: str
) -> None:
    found = problems_of(tmp_path, mutate(change))
    assert any(re.search(expected, line) for line in found), found
    assert all(re.match(r"^[\w.\[\]()]+ ?[\w ]*: ", line) for line in found), found


def test_all_problems_of_one_file_are_reported_together(tmp_path: Path) -> None:
    def break_everything(c: dict[str, Any]) -> None:
        c["rooms"][0].update(bot="nobody", timezone="Mars/Olympus")  # cross-ref + field
        c["rooms"][1].update(language="xx")  # field
        c["circles"][0]["rooms"].append("atlantis")  # cross-ref
        c["bots"][0]["token"] = "not-a-token"  # platform settings

    found = problems_of(tmp_path, mutate(break_everything))
    paths = [line.split(":")[0] for line in found]
    assert paths.count("rooms[0].bot") == 1
    assert "rooms[0].timezone" in paths
    assert "rooms[1].language" in paths
    assert "circles[0].rooms[2]" in paths
    assert "bots[0].token" in paths
    assert all(" (line " in line for line in found)


def test_a_missing_environment_variable_names_the_variable(tmp_path: Path) -> None:
    found = problems_of(tmp_path, minimal_config(), env={"TG_TOKEN": TOKEN})
    assert any(
        line.startswith("bots[1].password: environment variable MX_PASSWORD is not set")
        for line in found
    ), found


def test_environment_defaults_and_escapes(tmp_path: Path) -> None:
    cfg = minimal_config(data_dir="${DATA:-/srv/translocal}")
    cfg["rooms"][0]["label"] = "Costs $$5"  # type: ignore[index]
    loaded = load_config(write_config(tmp_path / "c.yaml", cfg), env=ENV)
    assert str(loaded.config.data_dir) == "/srv/translocal"
    assert loaded.config.room("cdmx").label == "Costs $5"
    env_given = load_config(tmp_path / "c.yaml", env={**ENV, "DATA": "/var/tl"})
    assert str(env_given.config.data_dir) == "/var/tl"


def test_a_literal_secret_is_a_warning_not_an_error(tmp_path: Path) -> None:
    cfg = minimal_config()
    cfg["bots"][0]["token"] = TOKEN  # type: ignore[index]
    loaded = load_config(write_config(tmp_path / "c.yaml", cfg), env=ENV)
    assert [str(w).split(":")[0] for w in loaded.warnings] == ["bots[0].token"]
    assert "literal secret" in str(loaded.warnings[0])
    assert TOKEN not in str(loaded.warnings[0])


def test_a_placeholder_secret_is_an_error(tmp_path: Path) -> None:
    found = problems_of(tmp_path, minimal_config(), env={**ENV, "MX_PASSWORD": "changeme"})
    assert any(line.startswith("bots[1].password: still holds a placeholder") for line in found)
    assert not any("changeme" in line for line in found)  # secrets are never echoed


def test_the_example_loads_when_its_variables_are_set() -> None:
    env = {"TELEGRAM_TOKEN_CDMX": TOKEN, "MATRIX_PASSWORD_NETWORK": "a-real-password"}
    loaded = load_config(ROOT / "bridge" / "examples" / "example.yaml", env=env)
    cfg = loaded.config
    assert [r.id for r in cfg.rooms] == ["cdmx", "berlin", "nyc"]
    assert cfg.room("cdmx").chat == "-1001234567890"
    assert cfg.translation.providers[0].url == "http://127.0.0.1:5000"
    assert loaded.warnings == []


def test_the_demo_config_loads_on_its_defaults() -> None:
    loaded = load_config(ROOT / "bridge" / "examples" / "demo.yaml", env={})
    assert {r.language for r in loaded.config.rooms} == {"es", "de", "en"}


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("bots:\n  - id: a\n    platform: [telegram\nrooms: []\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env=ENV)
    (problem,) = info.value.problems
    assert problem.path == "(yaml)"
    assert problem.line is not None


def test_duplicate_keys_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    text = write_config(path, minimal_config()).read_text()
    path.write_text(text.replace("  label: CDMX\n", "  label: CDMX\n  label: Mexico\n", 1))
    with pytest.raises(ConfigError) as info:
        load_config(path, env=ENV)
    assert any(str(p).startswith("rooms[0].label: is given twice") for p in info.value.problems)


def test_cli_prints_every_problem_one_line_each_and_exits_3(tmp_path: Path) -> None:
    cfg = mutate(
        lambda c: (c["rooms"][0].update(bot="x"), c["rooms"][1].update(timezone="Nope/No"))
    )
    path = write_config(tmp_path / "c.yaml", cfg)
    result = run_cli("check", "-c", str(path))
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert re.match(rf"{re.escape(str(path))}:\d+: rooms\[0\]\.bot: ", lines[0])
    assert re.match(rf"{re.escape(str(path))}:\d+: rooms\[1\]\.timezone: 'Nope/No' is not a "
                    "known timezone$", lines[1])  # fmt: skip
    assert "Traceback" not in result.stderr


def test_cli_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    result = run_cli("check", "-c", str(tmp_path / "absent.yaml"))
    assert result.returncode == 3
    assert "no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_short_pseudonym_key_is_refused(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path, minimal_config(pseudonym_key="${KEY}"), env={**ENV, "KEY": "k" * 31}
    )
    assert any(line.startswith("pseudonym_key: is 31 bytes; a pseudonym key needs at least 32")
               for line in found), found  # fmt: skip
    assert not any("k" * 31 in line for line in found)
    load_config(tmp_path / "config.yaml", env={**ENV, "KEY": "k" * 32})


def test_a_secret_written_as_a_default_in_the_file_is_a_literal_secret(tmp_path: Path) -> None:
    cfg = minimal_config()
    cfg["bots"][1]["password"] = "${MX_PASSWORD:-a-password-in-the-file}"  # type: ignore[index]
    path = write_config(tmp_path / "c.yaml", cfg)
    unset = {k: v for k, v in ENV.items() if k != "MX_PASSWORD"}
    for env in (unset, ENV):  # used or not, the file holds it
        loaded = load_config(path, env=env)
        assert [str(w).split(":")[0] for w in loaded.warnings] == ["bots[1].password"]


def test_a_set_but_empty_variable_takes_its_default(tmp_path: Path) -> None:
    cfg = minimal_config(data_dir="${DATA:-/srv/translocal}")
    loaded = load_config(write_config(tmp_path / "c.yaml", cfg), env={**ENV, "DATA": ""})
    assert str(loaded.config.data_dir) == "/srv/translocal"


def test_limits_and_budgets_refuse_nonsense_with_the_key_path(tmp_path: Path) -> None:
    cfg = minimal_config(limits={"per_sender_per_minute": 0, "per_room_per_minute": "lots"})
    cfg["translation"] = {"daily_char_budget": -5}
    found = problems_of(tmp_path, cfg)
    assert any(line.startswith("limits.per_sender_per_minute: ") for line in found), found
    assert any(line.startswith("limits.per_room_per_minute: ") for line in found), found
    assert any(line.startswith("translation.daily_char_budget: ") for line in found), found


def test_relative_paths_resolve_against_the_config_folder_not_the_working_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "locale").mkdir(parents=True)
    (site / "glossary.yaml").write_text("keep:\n  - Vonovia\n")
    cfg = minimal_config(data_dir="./data")
    cfg["translation"] = {"glossary": "glossary.yaml", "locale_dir": "locale"}
    path = write_config(site / "c.yaml", cfg)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = load_config(Path("../site/c.yaml"), env=ENV)
    assert loaded.config.data_dir == site / "data"
    assert loaded.config.translation.glossary == site / "glossary.yaml"
    assert loaded.config.translation.locale_dir == site / "locale"
    defaulted = minimal_config()
    write_config(path, defaulted)
    assert load_config(path, env=ENV).config.data_dir == site / "translocal-data"
    absolute = minimal_config(data_dir=str(tmp_path / "srv"))
    write_config(path, absolute)
    assert load_config(path, env=ENV).config.data_dir == tmp_path / "srv"


def test_without_bot_secrets_a_command_that_starts_no_bot_still_loads(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.yaml", minimal_config())
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert [str(p).split(":")[0] for p in info.value.problems] == [
        "bots[0].token",
        "bots[1].password",
    ]  # once each: "not set", not also "is empty"
    loaded = load_config(path, env={}, need_secrets=False)
    assert [b.id for b in loaded.config.bots] == ["tg", "mx"]
    assert loaded.config.secrets() == []
    cfg = minimal_config(pseudonym_key="${KEY}")  # not a bot's: still required
    write_config(path, cfg)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={}, need_secrets=False)
    assert [str(p).split(":")[0] for p in info.value.problems] == ["pseudonym_key"]
    cfg = minimal_config()
    cfg["rooms"][0]["timezone"] = "Mars/Olympus"  # type: ignore[index]
    write_config(path, cfg)
    with pytest.raises(ConfigError) as info:  # and every other problem still counts
        load_config(path, env={}, need_secrets=False)
    assert [str(p).split(":")[0] for p in info.value.problems] == ["rooms[0].timezone"]
