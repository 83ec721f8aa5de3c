"""Other clients against the simulator: pan-python's PanXapi, TLS, and `serve()` as a process."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pan.xapi
import pytest

from bot.fakeintel import dataset as intel
from bot.simulator import DEFAULT_API_KEY, SimulatorServer
from investigations.rules import DEFAULT_RULES

ROOT = Path(__file__).resolve().parents[1]
VULNERABILITY = next(rule for rule in DEFAULT_RULES if rule.id == "vulnerability")


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(act_polls=2) as server:
        yield server


def test_pan_python_reads_the_vulnerability_alert(sim: SimulatorServer) -> None:
    xapi = pan.xapi.PanXapi(
        api_key=DEFAULT_API_KEY, hostname="127.0.0.1", port=sim.port, use_http=True, timeout=10
    )
    xapi.log(log_type="threat", filter=VULNERABILITY.query, interval=0)
    entries = xapi.element_root.findall("./result/log/logs/entry")
    assert [e.findtext("threatid") for e in entries] == [
        f"{intel.IE_SIGNATURE_NAME}({intel.IE_SIGNATURE_ID})"
    ]
    (entry,) = entries
    assert entry.findtext("direction") == "server-to-client"
    assert (entry.findtext("severity"), entry.findtext("action")) == ("critical", "alert")
    assert sim.counts()["log:get"] == 3  # two ACT polls, then FIN
    assert sim.log_queries() == [("threat", VULNERABILITY.query)]


def test_pan_python_keygen_op_and_user_id(sim: SimulatorServer) -> None:
    xapi = pan.xapi.PanXapi(
        api_username="admin",
        api_password="admin",
        hostname="127.0.0.1",
        port=sim.port,
        use_http=True,
        timeout=10,
    )
    xapi.op(cmd="show system info", cmd_xml=True)  # keygen first, then the op
    assert xapi.api_key == DEFAULT_API_KEY
    assert xapi.element_root.findtext("./result/system/model") == "PA-VM"

    xapi.user_id(
        cmd='<uid-message><type>update</type><payload><register><entry ip="192.168.10.88">'
        '<tag><member timeout="600">panbot-quarantine</member></tag>'
        "</entry></register></payload></uid-message>"
    )
    assert xapi.status == "success"
    assert [(r.ip, r.tags) for r in sim.tags.registered()] == [
        ("192.168.10.88", ("panbot-quarantine",))
    ]
    assert sim.counts()["keygen"] == 1


def test_pan_python_sees_errors(sim: SimulatorServer) -> None:
    xapi = pan.xapi.PanXapi(api_key="wrong", hostname="127.0.0.1", port=sim.port, use_http=True)
    with pytest.raises(pan.xapi.PanXapiError):
        xapi.op(cmd="show system info", cmd_xml=True)
    good = pan.xapi.PanXapi(
        api_key=DEFAULT_API_KEY, hostname="127.0.0.1", port=sim.port, use_http=True
    )
    with pytest.raises(pan.xapi.PanXapiError, match="Invalid query"):
        good.log(log_type="threat", filter="( severity eq urgent )", interval=0)


def test_tls_with_the_generated_certificate() -> None:
    with SimulatorServer(tls=True, scenario="empty") as sim:
        assert sim.url.startswith("https://127.0.0.1:")
        assert sim.cert_path is not None and sim.cert_path.is_file()
        trusting = ssl.create_default_context(cafile=str(sim.cert_path))
        with httpx.Client(verify=trusting, headers={"X-PAN-KEY": DEFAULT_API_KEY}) as client:
            response = client.get(
                sim.api_url, params={"type": "op", "cmd": "<show><system><info/></system></show>"}
            )
        assert response.status_code == 200
        assert ET.fromstring(response.text).findtext("result/system/model") == "PA-VM"

        with httpx.Client(verify=False) as insecure:  # how a firewall's self-signed cert is met
            assert insecure.get(sim.api_url, params={"type": "op"}).status_code == 403

        with httpx.Client() as strict, pytest.raises(httpx.ConnectError):
            strict.get(sim.api_url)  # the system trust store does not know it

        xapi = pan.xapi.PanXapi(api_key=DEFAULT_API_KEY, hostname="127.0.0.1", port=sim.port)
        xapi.op(cmd="show system info", cmd_xml=True)
        assert xapi.element_root.findtext("./result/system/serial") == sim.store.serial
        cert_dir = sim.cert_path.parent
    assert not cert_dir.exists()  # the key does not outlive the server


def test_serve_prints_its_url_and_stops_on_sigterm() -> None:
    code = "from bot.simulator import serve; serve(port=0, api_key='k-123')"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+/api/)", line)
        assert found, line
        assert "k-123" not in line
        response = httpx.get(
            found.group(1),
            params={"type": "op", "cmd": "<show><system><info/></system></show>"},
            headers={"X-PAN-KEY": "k-123"},
        )
        assert response.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
