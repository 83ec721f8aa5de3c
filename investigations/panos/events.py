"""Typed firewall log entries: what the parser produces and everything downstream reads.

One frozen model covers the log types panbot reads (threat, wildfire, corr, and the
url/traffic logs of follow-up queries); fields a log type does not carry are None.
Field names follow PAN-OS's XML element names where they are clear, with the PAN-OS
name noted where panbot's differs.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class LogType(StrEnum):
    """The PAN-OS `log-type` values panbot queries."""

    THREAT = "threat"
    WILDFIRE = "wildfire"
    CORR = "corr"
    URL = "url"
    TRAFFIC = "traffic"


class Event(BaseModel):
    """One firewall log entry, times in UTC."""

    model_config = ConfigDict(frozen=True)

    log_type: LogType
    serial: str
    seqno: int
    receive_time: datetime
    time_generated: datetime | None = None
    device_name: str | None = None
    vsys: str | None = None

    type: str | None = None  # PAN-OS <type>: THREAT, WILDFIRE, CORRELATION...
    subtype: str | None = None
    severity: str | None = None
    action: str | None = None
    direction: str | None = None  # client-to-server / server-to-client

    src: str | None = None
    dst: str | None = None
    sport: int | None = None
    dport: int | None = None
    natsrc: str | None = None
    natdst: str | None = None
    srcuser: str | None = None
    dstuser: str | None = None
    src_host: str | None = None  # PAN-OS <src_host> (device-id), when present
    dst_host: str | None = None
    srcloc: str | None = None
    dstloc: str | None = None
    from_zone: str | None = None  # PAN-OS <from>
    to_zone: str | None = None  # PAN-OS <to>
    app: str | None = None
    proto: str | None = None
    policy_rule: str | None = None  # PAN-OS <rule>
    sessionid: int | None = None
    repeatcnt: int | None = None

    # threat / wildfire
    threat_name: str | None = None  # PAN-OS <threatid> without the "(id)" suffix
    threat_id: str | None = None  # PAN-OS <tid>, else the "(id)" of <threatid>
    threat_category: str | None = None  # PAN-OS <thr_category>
    category: str | None = None  # PAN-OS <category>: URL category, or WildFire verdict
    misc: str | None = None  # URL, or file name
    file_name: str | None = None  # misc, for file-carrying logs
    filetype: str | None = None
    file_digest: str | None = None  # PAN-OS <filedigest>: sha256 of the file
    file_url: str | None = None
    sender: str | None = None
    subject: str | None = None
    recipient: str | None = None
    report_id: str | None = None  # PAN-OS <reportid>: WildFire report
    verdict: str | None = None  # WildFire verdict (malicious, grayware, benign, phishing)
    cloud: str | None = None  # WildFire cloud that analysed the file

    # corr
    object_name: str | None = None
    object_id: str | None = None
    evidence: str | None = None  # the correlation summary, e.g. "Host visited ... (100 times)."
    evidence_count: int | None = None
    match_oid: str | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        """The event's identity: unique per firewall serial, log type and seqno."""
        return (self.serial, self.log_type.value, self.seqno)
