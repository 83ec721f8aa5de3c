"""1. parse: one full page of threat logs, panbot's parser against lxml and pan-python.

In memory: `LogPageParser`, fed the bytes the simulator renders in the pieces
`PanosClient` feeds it from the network, against the two raw parses the issue names as
the floor, bare `lxml.etree.fromstring` (the faster, so the goal is judged against it)
and `defusedxml.ElementTree.fromstring`, and against `xmltodict.parse` (what a script
built on pan-python does with `xml_root()`).
`parse_response` + `parse_log_entries` (the whole-tree path, no longer the client's)
is shown for comparison. Two parts are timed alone, for the floor of any parser built on
lxml and a pydantic model: reading the elements an Event uses out of a parsed tree
(tag and text into a dict, nothing else), and validating ready-made field dicts into
Events. Their sum with the bare parse is what no mapping on this stack can beat.
Over HTTP against the simulator: `PanosClient.query_logs` against
`pan.xapi.PanXapi.log` + `xmltodict.parse`.
"""

from __future__ import annotations

import statistics
import warnings
from typing import TYPE_CHECKING

from lxml import etree

from benchmarks.common import Config, Result, interleaved, ms, ratio, threat_fields, threat_page

if TYPE_CHECKING:
    from investigations.panos.events import Event

QUERY = "( severity eq critical )"


def run(cfg: Config) -> Result:
    import defusedxml.ElementTree
    import xmltodict

    from investigations.panos.client import PAGE_PIECE_BYTES
    from investigations.panos.entries import _TAG_FILTER
    from investigations.panos.events import Event, LogType
    from investigations.panos.parse import LogPageParser, parse_log_entries, parse_response

    n = cfg.size(5000, 200)
    rounds = cfg.size(7, 2)
    result = Result("parse")
    body = threat_page(n)
    result.figure("entries", n)
    result.figure("response MB", round(len(body) / 1e6, 2))

    def panbot() -> None:
        parser = LogPageParser(LogType.THREAT)
        for start in range(0, len(body), PAGE_PIECE_BYTES):
            parser.feed(body[start : start + PAGE_PIECE_BYTES])
        assert len(parser.close().events) == n

    def panbot_tree() -> None:
        events = parse_log_entries(parse_response(body), LogType.THREAT)
        assert len(events) == n

    entries = etree.fromstring(body).findall("result/log/logs/entry")
    fields = [_as_given(event) for event in parse_log_entries(parse_response(body), LogType.THREAT)]

    def read_fields() -> None:
        for entry in entries:
            {child.tag: child.text for child in entry.iterchildren(*_TAG_FILTER)}

    def validate() -> None:
        for given in fields:
            Event.model_validate(given)

    times = interleaved(
        {
            "lxml fromstring": lambda: etree.fromstring(body),
            "read the fields only": read_fields,
            "validate the models only": validate,
            "defusedxml fromstring": lambda: defusedxml.ElementTree.fromstring(body),
            "panbot": panbot,
            "panbot whole tree": panbot_tree,
            "xmltodict": lambda: xmltodict.parse(body),
        },
        rounds,
    )
    for name, values in times.items():
        result.figure(f"{name} ms (median)", ms(statistics.median(values)))
    vs_raw = ratio(times, "panbot", "lxml fromstring")
    vs_xmltodict = ratio(times, "panbot", "xmltodict")
    result.figure("panbot / lxml", round(vs_raw, 2))
    vs_raw_tree = ratio(times, "panbot whole tree", "lxml fromstring")
    result.figure("panbot whole tree / lxml", round(vs_raw_tree, 2))
    floor = statistics.median(
        (parse + read + check) / parse
        for parse, read, check in zip(
            times["lxml fromstring"],
            times["read the fields only"],
            times["validate the models only"],
            strict=True,
        )
    )
    result.figure("stack floor (lxml + read fields + validate) / lxml", round(floor, 2))
    result.figure("panbot / defusedxml", round(ratio(times, "panbot", "defusedxml fromstring"), 2))
    result.figure("panbot / xmltodict", round(vs_xmltodict, 2))
    result.goal("within 1.5x of bare lxml", vs_raw <= 1.5)
    result.goal("faster than xmltodict", vs_xmltodict < 1.0)

    over_http = _over_http(n, cfg.size(2, 1))
    result.figures.update(over_http)
    if "panbot / pan-python over HTTP" in over_http:
        result.goal(
            "faster than pan.xapi + xmltodict over HTTP",
            over_http["panbot / pan-python over HTTP"] < 1.0,
        )
    return result


def _as_given(event: Event) -> dict[str, object]:
    """The fields as the mapper hands them to pydantic: numbers still text, times parsed."""
    return {
        name: str(value) if isinstance(value, int) else value
        for name, value in event.model_dump(exclude_unset=True).items()
    }


def _over_http(n: int, rounds: int) -> dict[str, float]:
    """Both clients fetch the same page from the simulator (one job, answered FIN at once)."""
    import xmltodict

    from bot.simulator.api import DEFAULT_API_KEY
    from bot.simulator.server import SimulatorServer
    from investigations.panos.client import PanosClient
    from investigations.panos.events import LogType

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import pan.xapi

    sim = SimulatorServer(scenario="empty", act_polls=0).start()
    try:
        moment = sim.store.now()
        for i in range(n):
            sim.append("threat", **threat_fields(i, host=i % 200, receive_time=moment))
        client = PanosClient(sim.url, api_key=DEFAULT_API_KEY, job_poll_interval=0.05)
        xapi = pan.xapi.PanXapi(
            api_key=DEFAULT_API_KEY, hostname="127.0.0.1", port=sim.port, use_http=True
        )

        def panbot() -> None:
            events = client.query_logs(LogType.THREAT, QUERY, page_size=n, max_pages=1)
            assert len(events) == n

        def pan_python() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                xapi.log(log_type="threat", nlogs=n, filter=QUERY, interval=0.05)
                doc = xmltodict.parse(xapi.xml_root())
            entries = doc["response"]["result"]["log"]["logs"]["entry"]
            assert len(entries if isinstance(entries, list) else [entries]) == n

        times = interleaved({"panbot": panbot, "pan-python": pan_python}, rounds, warmup=0)
        client.close()
        return {
            "panbot over HTTP ms": ms(statistics.median(times["panbot"])),
            "pan.xapi + xmltodict over HTTP ms": ms(statistics.median(times["pan-python"])),
            "panbot / pan-python over HTTP": round(ratio(times, "panbot", "pan-python"), 2),
        }
    finally:
        sim.stop()
