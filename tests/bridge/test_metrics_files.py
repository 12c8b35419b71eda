"""The dashboard and the alert rules in deploy/ use only metrics the running app exports, and
the metrics an operator reads (call-outs, build info) are there."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp
import redis.asyncio
import yaml

from bridge.app import App
from tests.harness import memory_config, running_app
from tests.helpers import ROOT
from tests.memory_bot import NETWORK

DASHBOARD = ROOT / "deploy" / "grafana" / "translocal.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS_OWN = {"up"}  # recorded by Prometheus for every target it scrapes
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (functions, label names, keywords out)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for found in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        if expr[found.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if found.group().lower() not in KEYWORDS:
            names.add(found.group())
    return names


def exported(exposition: str) -> set[str]:
    """Every series name the exposition's families can have: a counter's _total, a
    histogram's _bucket/_sum/_count, an info's _info (a family without samples counts)."""
    names: set[str] = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, re.M):
        if kind == "counter":
            names |= {name if name.endswith("_total") else f"{name}_total"}
        elif kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        else:
            names.add(name)
    return names


def dashboard_exprs() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in board["panels"] for t in p["targets"]]


def alert_exprs() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def test_the_expression_reader_finds_a_misspelled_metric() -> None:
    expr = 'sum by (bot) (rate(translocal_dead_leters_total{bot="a"}[1h])) / on(bot) up > 0.5'
    assert metric_names(expr) == {"translocal_dead_leters_total", "up"}
    assert metric_names("histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))") == {
        "x_bucket"
    }


def test_every_rule_and_panel_says_what_it_is() -> None:
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} >= {
        "TranslocalDown", "TranslocalDeadLettersGrowing", "TranslocalOutboxBacklog",
        "TranslocalTranslationFailing", "TranslocalRedisMemoryNearMax",
    }  # fmt: skip
    assert all(r["annotations"]["summary"] and r["labels"]["severity"] for r in rules)
    board = json.loads(DASHBOARD.read_text())
    assert all(p["title"] and p["targets"] for p in board["panels"])


async def test_the_dashboard_and_alerts_use_only_metrics_the_running_app_exports(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    port = _free_port()
    app = App(memory_config(tmp_path, redis_url), lease_ms=1000, metrics=("127.0.0.1", port))
    async with running_app(app), aiohttp.ClientSession() as http:
        await NETWORK.bot("a").post("a1", "hola", name="Ana")
        async with http.get(f"http://127.0.0.1:{port}/metrics") as answer:
            exposition = await answer.text()
    have = exported(exposition) | PROMETHEUS_OWN
    used = {name for e in dashboard_exprs() + alert_exprs() for name in metric_names(e)}
    assert used, "no expressions found"
    assert used - have == set()
    for family in (
        "translocal_callouts_scheduled",
        "translocal_callouts_fired_total",
        "translocal_callouts_delivered_total",
        "translocal_callouts_failed_total",
    ):
        assert f"# TYPE {family} " in exposition, family  # fmt: skip
    build = re.search(r'^translocal_build_info\{python="([\d.]+)",version="([^"]+)"\} 1\.0$',
                      exposition, re.M)  # fmt: skip
    assert build is not None
    assert build.group(2) != "unknown"
    assert re.search(r'^translocal_redis_memory_bytes\{kind="used"\} [1-9]', exposition, re.M)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
