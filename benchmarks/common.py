"""What every benchmark shares: the machine header, timing, RSS, workloads and databases.

Timings on a shared machine are noisy, so each figure that has a goal is a ratio
against a baseline measured in the same run, interleaved with it (A B A B ...),
and reported as the median of the per-pair ratios.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

# slack-sdk honours proxy variables even for 127.0.0.1 (FACTS.md): benchmarks talk to loopback.
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_var, None)

POSTGRES_ADMIN_URL = os.environ.get(
    "PANBOT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgres")
N = TypeVar("N", int, float)


# -- configuration and results --------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """How big and how long: full figures, or tiny sizes that only keep the code alive."""

    smoke: bool
    backends: tuple[str, ...] = BACKENDS

    def size(self, full: N, smoke: N) -> N:
        return smoke if self.smoke else full


@dataclass
class Result:
    """One benchmark's figures and goals, printed by the runner."""

    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    goals: list[tuple[str, bool]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def figure(self, key: str, value: Any) -> None:
        self.figures[key] = value

    def goal(self, text: str, met: bool) -> None:
        self.goals.append((text, met))


def machine() -> dict[str, str]:
    """The header every run prints: platform, cores, Python, date."""
    return {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "?"
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else platform.processor() or "?"


# -- timing ---------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(
    candidates: dict[str, Callable[[], Any]], rounds: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Time each candidate once per round, in turn, so load changes hit all of them alike."""
    for _ in range(warmup):
        for fn in candidates.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            times[name].append(timed(fn))
    return times


def ratio(times: dict[str, list[float]], name: str, baseline: str) -> float:
    """Median over rounds of time(name) / time(baseline) in the same round."""
    return statistics.median(a / b for a, b in zip(times[name], times[baseline], strict=True))


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of some values."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# -- memory ---------------------------------------------------------------------------------


def rss_mb(pid: int | None = None) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MB, from /proc (Linux)."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    values = {
        key: int(value.split()[0]) / 1024
        for key, value in (line.split(":", 1) for line in status.splitlines() if ":" in line)
        if key in ("VmRSS", "VmHWM")
    }
    return round(values.get("VmRSS", 0.0), 1), round(values.get("VmHWM", 0.0), 1)


# -- workload: threat logs in the shape PAN-OS (and the simulator) writes --------------------

# Elements a PAN-OS 10.x threat entry carries that panbot does not read; a parser must
# walk past them at full page size. With the simulator's own fields an entry has ~120.
FILLER: dict[str, str] = {
    "actionflags": "0x8000000000000000",
    "is-logging-service": "no",
    "inbound_if": "ethernet1/1",
    "outbound_if": "ethernet1/2",
    "logset": "default",
    "natsport": "0",
    "natdport": "0",
    "flags": "0x2000",
    **dict.fromkeys(
        (
            "flag-pcap",
            "flag-flagged",
            "flag-proxy",
            "flag-url-denied",
            "flag-nat",
            "captive-portal",
            "non-std-dport",
            "transaction",
            "pbf-c2s",
            "pbf-s2c",
            "temporary-match",
            "sym-return",
            "decrypt-mirror",
            "credential-detected",
            "flag-mptcp-set",
            "flag-tunnel-inspected",
            "flag-recon-excluded",
            "flag-wf-channel",
            "is_saas_of_app",
            "sanctioned_state_of_app",
        ),
        "no",
    ),
    "tunnel": "N/A",
    "url_idx": "0",
    "pcap_id": "0",
    "contenttype": "",
    "user_agent": "",
    "xff": "",
    "referer": "",
    "tpadding": "0",
    "cpadding": "0",
    "rule_uuid": "4a2c2a54-7a1a-4b4e-9c55-8f4b0f5c6e01",
    "vpadding": "0",
    "category_of_app": "general-internet",
    "subcategory_of_app": "internet-utility",
    "technology_of_app": "browser-based",
    "risk_of_app": "4",
    "bpadding": "0",
    **{f"dg_hier_level_{n}": "0" for n in range(1, 5)},
    "vsys_name": "",
    "vsys_id": "1",
    "tunnelid_imsi": "0",
    "parent_session_id": "0",
    "http_method": "unknown",
    "http2_connection": "0",
    "link_change_count": "0",
    "tunnelid": "0",
    "imsi": "",
    "monitortag": "0",
    "imei": "",
    "ppid": "4294967295",
    "partial_hash": "0",
    **{
        f"{side}_{what}": ""
        for side in ("src", "dst")
        for what in ("category", "profile", "model", "vendor", "osfamily", "osversion")
    },
    "src_mac": "00:1b:17:00:01:10",
    "dst_mac": "00:1b:17:00:01:11",
    "container_id": "",
    "pod_namespace": "",
    "pod_name": "",
}

SIGNATURES = (
    ("Microsoft Internet Explorer Memory Corruption Vulnerability(37322)", "37322"),
    ("Apache Log4j Remote Code Execution Vulnerability(91991)", "91991"),
    ("HTTP Directory Traversal Vulnerability(30844)", "30844"),
)


def host_ip(n: int) -> str:
    """The n-th inside host (RFC 1918)."""
    return f"192.168.{10 + n // 250}.{n % 250 + 1}"


def threat_fields(
    i: int, *, host: int, signature: int = 0, filler: bool = True, **extra: Any
) -> dict[str, Any]:
    """A critical vulnerability log (the default rule matches it) against an inside host."""
    threatid, tid = SIGNATURES[signature % len(SIGNATURES)]
    fields: dict[str, Any] = {
        "subtype": "vulnerability",
        "src": host_ip(host),
        "dst": "203.0.113.80",
        "natsrc": "198.51.100.10",
        "natdst": "203.0.113.80",
        "rule": "Allow-Outbound",
        "srcuser": "corp\\tanaka",
        "dstuser": "",
        "app": "web-browsing",
        "vsys": "vsys1",
        "from": "trust",
        "to": "untrust",
        "sessionid": 100_000 + i,
        "repeatcnt": 1,
        "sport": 40_000 + i % 20_000,
        "dport": 80,
        "proto": "tcp",
        "action": "alert",
        "misc": "www.example.com/exploit.html",
        "threatid": threatid,
        "tid": tid,
        "thr_category": "code-execution",
        "category": "computer-and-internet-info",
        "severity": "critical",
        "direction": "server-to-client",
        "srcloc": "192.168.0.0-192.168.255.255",
        "dstloc": "US",
        "device_name": "PA-3220-tokyo",
    }
    if filler:
        fields.update(FILLER)
    fields.update(extra)
    return fields


def threat_page(n: int, *, hosts: int = 200, signatures: int = 1, seqno_start: int = 1000) -> bytes:
    """A finished log job's answer holding n threat entries, rendered by the simulator."""
    from bot.simulator import responses
    from bot.simulator.store import LogStore

    start = _dt.datetime(2026, 3, 1, 1, 0, tzinfo=_dt.UTC)
    store = LogStore()
    for i in range(n):
        moment = start + _dt.timedelta(seconds=i // 10)
        store.append(
            "threat",
            threat_fields(
                i,
                host=i % hosts,
                signature=i % signatures,
                seqno=seqno_start + i,
                receive_time=moment,
            ),
        )
    body = responses.job_status(
        1, finished=True, enqueued="10:00:00", now="10:00:01", entries=store.entries("threat")
    )
    return body.encode()


# -- databases ------------------------------------------------------------------------------


def _admin_connect() -> Any:
    import psycopg

    dsn = POSTGRES_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(dsn, autocommit=True)


@contextlib.contextmanager
def scratch_database(backend: str, label: str = "bench") -> Iterator[str]:
    """A fresh, empty database URL: a temporary SQLite file, or a PostgreSQL database
    `panbot_bench_<label>_<id>` created on the local server and dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"panbot-{label}-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'panbot.db'}"
        return
    if backend != "postgres":
        raise ValueError(f"unknown backend {backend!r}")
    name = f"panbot_bench_{label}_{uuid.uuid4().hex[:8]}"
    with _admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with _admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_tables(url: str) -> None:
    """Make panbot's tables (the models' own DDL; the migrations are checked to match)."""
    from storage import Database
    from storage.models import Base

    db = Database(url)
    try:
        Base.metadata.create_all(db.engine)
    finally:
        db.dispose()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- a whole bot against the simulator, fake Slack and fake intel ----------------------------

CHANNEL = "C0ALERTS"
SIGNING_SECRET = "bench-signing-secret"


@dataclass
class World:
    simulator: Any
    slack: Any
    intel: Any

    def env(self, database_url: str, port: int = 0) -> dict[str, str]:
        """The settings of a bot pointed at this world, as environment variables."""
        from bot.simulator.api import DEFAULT_API_KEY

        urls = self.intel.urls
        return {
            "SLACK_BOT_TOKEN": self.slack.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "PANBOT_MODE": "http",
            "PANBOT_HTTP_HOST": "127.0.0.1",
            "PANBOT_HTTP_PORT": str(port),
            "PANBOT_SLACK_API_URL": self.slack.api_url,
            "PANBOT_SLACK_CHANNEL": CHANNEL,
            "PANBOT_DATABASE_URL": database_url,
            "PANBOT_FIREWALL_URL": self.simulator.url,
            "PANBOT_FIREWALL_API_KEY": DEFAULT_API_KEY,
            "PANBOT_POLL_INTERVAL": "1",
            "PANBOT_THREATVAULT_URL": urls["threatvault"],
            "PANBOT_THREATVAULT_API_KEY": self.intel.api_key,
            "PANBOT_WILDFIRE_URL": urls["wildfire"],
            "PANBOT_WILDFIRE_API_KEY": self.intel.api_key,
            "PANBOT_VIRUSTOTAL_URL": urls["virustotal"],
            "PANBOT_VIRUSTOTAL_API_KEY": self.intel.api_key,
            "PANBOT_NVD_URL": urls["nvd"],
            "PANBOT_JVN_URL": urls["jvn"],
        }


@contextlib.contextmanager
def world(scenario: str = "empty") -> Iterator[World]:
    """The simulator, fake Slack and fake intel on ephemeral loopback ports."""
    from bot.fakeintel.server import FakeIntel
    from bot.fakeslack.server import FakeSlack
    from bot.simulator.server import SimulatorServer

    simulator = SimulatorServer(scenario=scenario).start()
    slack = FakeSlack().start()
    intel = FakeIntel()
    try:
        yield World(simulator, slack, intel)
    finally:
        intel.close()
        slack.stop()
        simulator.stop()


@contextlib.contextmanager
def running_bot(
    w: World, database_url: str, *, http: bool = False, jobs: bool = True
) -> Iterator[Any]:
    """A PanBot in this process, its tables made, paced like production (1 post/s/channel)."""
    from bot.app import PanBot
    from bot.config import load_settings

    create_tables(database_url)
    bot = PanBot(load_settings(**w.env(database_url)), migrate=False, enable_http=http)
    bot.start(jobs=jobs)
    try:
        yield bot
    finally:
        bot.stop()


@dataclass
class BotProcess:
    """A running `panbot run`: the process, its HTTP port, and the end of its log."""

    process: Any
    port: int
    tail: Callable[[], str]

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"panbot run exited: {self.tail()}")


@contextlib.contextmanager
def panbot_process(w: World, database_url: str, **env: str) -> Iterator[BotProcess]:
    """`panbot run` as production runs it, in its own process, with `env` on top.

    Its log goes to a file, not a pipe: a pipe nobody reads fills up and stalls the bot.
    """
    import signal
    import subprocess

    import httpx

    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PANBOT_", "SLACK_"))}
    environ.update(w.env(database_url, port), PANBOT_LOG_LEVEL="WARNING", **env)
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=environ, stdout=log, stderr=log, text=True
        )

        def tail() -> str:
            log.seek(0)
            return log.read()[-2000:]

        bot = BotProcess(process, port, tail)
        try:
            deadline = time.monotonic() + 60
            while True:
                bot.check_alive()
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"panbot run did not become healthy: {tail()}")
                time.sleep(0.2)
            yield bot
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
