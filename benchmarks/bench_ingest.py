"""2. ingest: parse + de-duplicate + store one full page, and how that grows with history.

`ingest_page` in one `Database.session()` (commit included), on SQLite and PostgreSQL.
History: two databases, one holding a small history and one a large one (filled with
COPY on PostgreSQL, executemany on SQLite), polled alternately with the same pages so
that load on the machine hits both alike; the figure is big / small.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from typing import Any

from benchmarks.common import (
    Config,
    Result,
    create_tables,
    ms,
    scratch_database,
    threat_page,
    timed,
)

HOSTS = 200
SERIAL = "007954000123456"  # the simulator's


def _ingest(url: str, body: bytes) -> tuple[float, float, Any]:
    """Parse a page and store it in one transaction; return (parse s, store s, result)."""
    import time

    from bot.config import RFC1918
    from bot.ingest import ingest_page
    from investigations.panos.events import LogType
    from investigations.panos.parse import parse_log_entries, parse_response
    from investigations.rules import DEFAULT_RULES
    from storage import Database

    networks = [__import__("ipaddress").ip_network(n) for n in RFC1918]
    rule = DEFAULT_RULES[0]
    db = _databases.setdefault(url, Database(url))
    started = time.perf_counter()
    page = parse_log_entries(parse_response(body), LogType.THREAT)
    parsed = time.perf_counter()
    with db.session() as session:
        result = ingest_page(
            session, rule=rule, firewall="fw", page=page, networks=networks, channel="C0ALERTS"
        )
    return parsed - started, time.perf_counter() - parsed, result


_databases: dict[str, Any] = {}


def _close_all() -> None:
    for db in _databases.values():
        db.dispose()
    _databases.clear()


def run(cfg: Config) -> Result:
    result = Result("ingest")
    page_n = cfg.size(5000, 500)
    small_n, big_n = cfg.size(10_000, 2_000), cfg.size(1_000_000, 20_000)
    reps = cfg.size(5, 2)
    result.figure("page entries", page_n)
    pages = [
        threat_page(page_n, hosts=HOSTS, seqno_start=10_000_000 + k * page_n)
        for k in range(reps + 1)
    ]
    try:
        for backend in cfg.backends:
            _one_page(result, backend, pages[0], page_n)
            _history(result, backend, pages[1:], small_n, big_n)
    finally:
        _close_all()
    return result


def _one_page(result: Result, backend: str, body: bytes, page_n: int) -> None:
    with scratch_database(backend, "ingest") as url:
        create_tables(url)
        parse_s, store_s, outcome = _ingest(url, body)
        assert outcome.stored == page_n, outcome.stored
        # The overlap re-read of the next poll: the same page again, every event a repeat.
        _, reread_s, again = _ingest(url, body)
        assert again.stored == 0
        _databases.pop(url).dispose()
    total = parse_s + store_s
    result.figure(f"{backend}: first page total ms", ms(total))
    result.figure(f"{backend}: first page parse ms", ms(parse_s))
    result.figure(
        f"{backend}: first page store ms ({len(outcome.alerts_opened)} alerts opened)", ms(store_s)
    )
    result.figure(f"{backend}: re-read page store ms (all repeats)", ms(reread_s))
    if backend == "postgres":
        result.goal("one full page parsed and stored in < 1 s on PostgreSQL", total < 1.0)


def _history(result: Result, backend: str, pages: list[bytes], small_n: int, big_n: int) -> None:
    with (
        scratch_database(backend, "small") as small,
        scratch_database(backend, "big") as big,
    ):
        create_tables(small)
        create_tables(big)
        fill_s = timed(lambda: _fill(big, big_n))
        _fill(small, small_n)
        result.figure(f"{backend}: filling {big_n:,} events s", round(fill_s, 1))
        ratios, small_t, big_t = [], [], []
        for body in pages:  # the same pages, alternately, in the same order on both
            parse_a, store_a, _ = _ingest(small, body)
            parse_b, store_b, _ = _ingest(big, body)
            small_t.append(parse_a + store_a)
            big_t.append(parse_b + store_b)
            ratios.append((parse_b + store_b) / (parse_a + store_a))
        _close_all()
    label = f"{backend}: poll over {big_n:,} / over {small_n:,} events"
    worst = statistics.median(ratios)
    result.figure(f"{backend}: poll over {small_n:,} ms (median)", ms(statistics.median(small_t)))
    result.figure(f"{backend}: poll over {big_n:,} ms (median)", ms(statistics.median(big_t)))
    result.figure(label, round(worst, 2))
    result.goal(f"{backend}: flat as history grows ({label} <= 1.2)", worst <= 1.2)


def _fill(url: str, n: int) -> None:
    """Store n old events, n/100 closed alerts and their sent outbox rows, in bulk."""
    if url.startswith("sqlite"):
        _fill_sqlite(url, n)
    else:
        _fill_postgres(url, n)


def _history_rows(
    n: int,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    data = json.dumps({"log_type": "threat", "severity": "critical", "subtype": "vulnerability"})
    events = [
        (
            SERIAL,
            "threat",
            i,
            "vulnerability",
            start + dt.timedelta(seconds=i),
            f"192.168.{i % 250}.{i % 200 + 1}",
            "203.0.113.80",
            data,
            (i - 1) // 100 + 1,
            start + dt.timedelta(seconds=i),
        )
        for i in range(1, n + 1)
    ]
    alert_n = (n + 99) // 100
    alerts = [
        (
            a,
            "vulnerability",
            f"vulnerability|threat:{30000 + a % 50}|host:192.168.{a % 250}.{a % 200 + 1}",
            f"192.168.{a % 250}.{a % 200 + 1}",
            "closed",
            start + dt.timedelta(seconds=a * 100),
            start + dt.timedelta(seconds=a * 100 + 99),
            100,
            "{}",
            start,
            start,
        )
        for a in range(1, alert_n + 1)
    ]
    outbox = [
        (a, "parent", f"parent:{a}", "{}", "sent", 1, start, start) for a in range(1, alert_n + 1)
    ]
    return events, alerts, outbox


_ALERT_COLUMNS = (
    "id, rule, group_key, host, state, first_seen, last_seen, count, facts, created_at, updated_at"
)
_EVENT_COLUMNS = "serial, log_type, seqno, rule, receive_time, src, dst, data, alert_id, stored_at"
_OUTBOX_COLUMNS = (
    "alert_id, kind, dedupe_key, payload, state, attempts, next_attempt_at, created_at"
)


def _fill_sqlite(url: str, n: int) -> None:
    import sqlite3

    events, alerts, outbox = _history_rows(n)

    def naive(row: tuple[Any, ...]) -> tuple[Any, ...]:
        # SQLAlchemy's SQLite DateTime format, UTC without offset (storage.models.UtcDateTime)
        return tuple(
            v.replace(tzinfo=None).isoformat(" ", "microseconds")
            if isinstance(v, dt.datetime)
            else v
            for v in row
        )

    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        with conn:
            conn.executemany(
                f"INSERT INTO alerts ({_ALERT_COLUMNS}) VALUES ({','.join('?' * 11)})",
                map(naive, alerts),
            )
            conn.executemany(
                f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES ({','.join('?' * 10)})",
                map(naive, events),
            )
            conn.executemany(
                f"INSERT INTO outbox ({_OUTBOX_COLUMNS}) VALUES ({','.join('?' * 8)})",
                map(naive, outbox),
            )
        conn.execute("ANALYZE")
    finally:
        conn.close()


def _fill_postgres(url: str, n: int) -> None:
    import psycopg

    events, alerts, outbox = _history_rows(n)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor() as cur:
            for table, columns, rows in (
                ("alerts", _ALERT_COLUMNS, alerts),
                ("events", _EVENT_COLUMNS, events),
                ("outbox", _OUTBOX_COLUMNS, outbox),
            ):
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            cur.execute("SELECT setval('alerts_id_seq', (SELECT max(id) FROM alerts))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
