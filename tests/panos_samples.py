"""PAN-OS XML API answers written for panbot's tests, in the shapes of ../shared/reference.

The reference folder has one real traffic entry and no threat, WildFire or correlation
entries (see its PROVENANCE.md), so these entries follow the traffic entry's layout
with the threat-log elements PAN-OS documents (`threatid`, `tid`, `filedigest`...).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

SERIAL = "007051000123456"

# Elements a PAN-OS 10.x threat entry carries that panbot does not read: the parser
# must walk past them at full page size.
_FILLER = """\
        <domain>1</domain>
        <actionflags>0x8000000000000000</actionflags>
        <is-logging-service>no</is-logging-service>
        <config_ver>2561</config_ver>
        <inbound_if>ethernet1/1</inbound_if>
        <outbound_if>ethernet1/2</outbound_if>
        <logset>default</logset>
        <time_received>{receive_time}</time_received>
        <natsport>0</natsport>
        <natdport>0</natdport>
        <flags>0x2000</flags>
        <flag-pcap>no</flag-pcap>
        <flag-flagged>no</flag-flagged>
        <flag-proxy>no</flag-proxy>
        <flag-url-denied>no</flag-url-denied>
        <flag-nat>no</flag-nat>
        <captive-portal>no</captive-portal>
        <non-std-dport>no</non-std-dport>
        <transaction>no</transaction>
        <pbf-c2s>no</pbf-c2s>
        <pbf-s2c>no</pbf-s2c>
        <temporary-match>no</temporary-match>
        <sym-return>no</sym-return>
        <decrypt-mirror>no</decrypt-mirror>
        <credential-detected>no</credential-detected>
        <flag-mptcp-set>no</flag-mptcp-set>
        <flag-tunnel-inspected>no</flag-tunnel-inspected>
        <flag-recon-excluded>no</flag-recon-excluded>
        <flag-wf-channel>no</flag-wf-channel>
        <tunnel>N/A</tunnel>
        <url_idx>0</url_idx>
        <pcap_id>0</pcap_id>
        <contenttype/>
        <user_agent/>
        <xff/>
        <referer/>
        <tpadding>0</tpadding>
        <cpadding>0</cpadding>
        <rule_uuid>4a2c2a54-7a1a-4b4e-9c55-8f4b0f5c6e01</rule_uuid>
        <vpadding>0</vpadding>
        <category_of_app>general-internet</category_of_app>
        <subcategory_of_app>internet-utility</subcategory_of_app>
        <technology_of_app>browser-based</technology_of_app>
        <risk_of_app>4</risk_of_app>
        <is_saas_of_app>no</is_saas_of_app>
        <sanctioned_state_of_app>no</sanctioned_state_of_app>
        <bpadding>0</bpadding>
        <dg_hier_level_1>0</dg_hier_level_1>
        <dg_hier_level_2>0</dg_hier_level_2>
        <dg_hier_level_3>0</dg_hier_level_3>
        <dg_hier_level_4>0</dg_hier_level_4>
        <vsys_name/>
        <vsys_id>1</vsys_id>
        <tunnelid_imsi>0</tunnelid_imsi>
        <parent_session_id>0</parent_session_id>
        <reportid>0</reportid>
        <http_method>unknown</http_method>
        <http2_connection>0</http2_connection>
        <link_change_count>0</link_change_count>
        <tunnelid>0</tunnelid>
        <imsi/>
        <monitortag>0</monitortag>
        <imei/>
        <ppid>4294967295</ppid>
        <partial_hash>0</partial_hash>
        <src_category/>
        <src_profile/>
        <src_model/>
        <src_vendor/>
        <src_osfamily/>
        <src_osversion/>
        <src_mac>00:1b:17:00:01:10</src_mac>
        <dst_category/>
        <dst_profile/>
        <dst_model/>
        <dst_vendor/>
        <dst_osfamily/>
        <dst_osversion/>
        <dst_mac>00:1b:17:00:01:11</dst_mac>
        <container_id/>
        <pod_namespace/>
        <pod_name/>
"""


def threat_entry(
    seqno: int,
    *,
    subtype: str = "vulnerability",
    threatid: str = "Microsoft Internet Explorer Memory Corruption Vulnerability(37322)",
    tid: str | None = "37322",
    thr_category: str = "code-execution",
    severity: str = "critical",
    action: str = "alert",
    direction: str = "server-to-client",
    src: str = "192.168.1.10",
    dst: str = "203.0.113.80",
    app: str = "web-browsing",
    misc: str = "www.example.com/exploit.html",
    receive_time: str = "2024/03/01 10:15:30",
    time_generated: str | None = None,
    high_res_timestamp: str | None = "2024-03-01T10:15:29.512+09:00",
    extra: str = "",
    filler: bool = True,
) -> str:
    """Return one threat-log <entry>, device-local times as PAN-OS writes them."""
    generated = time_generated or receive_time
    high_res = (
        f"<high_res_timestamp>{high_res_timestamp}</high_res_timestamp>"
        if high_res_timestamp
        else ""
    )
    tid_el = f"<tid>{tid}</tid>" if tid is not None else ""
    body = _FILLER.format(receive_time=receive_time) if filler else ""
    return f"""\
      <entry logid="{7000000000000000000 + seqno}">
        <receive_time>{receive_time}</receive_time>
        <serial>{SERIAL}</serial>
        <seqno>{seqno}</seqno>
        <type>THREAT</type>
        <subtype>{subtype}</subtype>
        <time_generated>{generated}</time_generated>
        {high_res}
        <src>{src}</src>
        <dst>{dst}</dst>
        <natsrc>198.51.100.2</natsrc>
        <natdst>0.0.0.0</natdst>
        <rule>Allow-Web</rule>
        <srcuser>corp\\tanaka</srcuser>
        <dstuser/>
        <app>{app}</app>
        <vsys>vsys1</vsys>
        <from>trust</from>
        <to>untrust</to>
        <sessionid>{100000 + seqno}</sessionid>
        <repeatcnt>1</repeatcnt>
        <sport>51234</sport>
        <dport>80</dport>
        <proto>tcp</proto>
        <action>{action}</action>
        <misc>{escape(misc)}</misc>
        <threatid>{escape(threatid)}</threatid>
        {tid_el}
        <thr_category>{thr_category}</thr_category>
        <category>computer-and-internet-info</category>
        <severity>{severity}</severity>
        <direction>{direction}</direction>
        <srcloc>192.168.0.0-192.168.255.255</srcloc>
        <dstloc code="US" cc="US">United States</dstloc>
        <device_name>PA-220-tokyo</device_name>
{body}{extra}      </entry>
"""


def wildfire_entry(seqno: int, *, category: str = "malicious", verdict: bool = False) -> str:
    """Return one WildFire-submissions <entry> (verdict in <category>, as older releases)."""
    verdict_el = f"<verdict>{category}</verdict>" if verdict else ""
    return f"""\
      <entry logid="{8000000000000000000 + seqno}">
        <receive_time>2024/03/01 11:00:05</receive_time>
        <serial>{SERIAL}</serial>
        <seqno>{seqno}</seqno>
        <type>WILDFIRE</type>
        <subtype>wildfire</subtype>
        <time_generated>2024/03/01 11:00:01</time_generated>
        <src>192.168.1.20</src>
        <dst>198.51.100.25</dst>
        <rule>Allow-Mail</rule>
        <app>smtp</app>
        <vsys>vsys1</vsys>
        <from>trust</from>
        <to>untrust</to>
        <sport>50000</sport>
        <dport>25</dport>
        <proto>tcp</proto>
        <action>allow</action>
        <misc>invoice.js</misc>
        <threatid>Windows Executable (EXE)(52020)</threatid>
        <category>{category}</category>
        {verdict_el}
        <severity>high</severity>
        <direction>client-to-server</direction>
        <filedigest>9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08</filedigest>
        <filetype>script</filetype>
        <cloud>wildfire.paloaltonetworks.com</cloud>
        <reportid>37112233</reportid>
        <sender>tanaka@example.co.jp</sender>
        <subject>Invoice March</subject>
        <recipient>billing@example.net</recipient>
        <device_name>PA-220-tokyo</device_name>
      </entry>
"""


def corr_entry(logid: int, *, src: str = "192.168.1.30") -> str:
    """Return one correlated-event <entry>: no seqno, identity in `logid`."""
    return f"""\
      <entry logid="{logid}">
        <receive_time>2024/03/01 12:30:00</receive_time>
        <serial>{SERIAL}</serial>
        <type>CORRELATION</type>
        <subtype>compromised-host</subtype>
        <time_generated>2024/03/01 12:29:58</time_generated>
        <src>{src}</src>
        <srcuser>corp\\suzuki</srcuser>
        <vsys>vsys1</vsys>
        <category>compromised-host</category>
        <severity>critical</severity>
        <device_name>PA-220-tokyo</device_name>
        <object_name>beacon-detection</object_name>
        <object_id>6005</object_id>
        <evidence>Host visited known malware URL (100 times).</evidence>
        <match_oid>73</match_oid>
      </entry>
"""


def log_get_response(entries: list[str], *, job_id: int = 1, status: str = "FIN") -> bytes:
    """Return an `action=get` answer in the reference's shape, holding `entries`."""
    progress = 100 if status == "FIN" else 20
    count = len(entries) if status == "FIN" else 0
    return (
        '<response status="success"><result>\n'
        f"  <job>\n    <tenq>10:15:31</tenq>\n    <tdeq>10:15:31</tdeq>\n"
        f"    <tlast>10:15:32</tlast>\n    <status>{status}</status>\n    <id>{job_id}</id>\n"
        "  </job>\n  <log>\n"
        f'    <logs count="{count}" progress="{progress}">\n'
        + "".join(entries if status == "FIN" else [])
        + "    </logs>\n  </log>\n</result></response>"
    ).encode()


def log_enqueued_response(job_id: int) -> bytes:
    """Return a log query's answer: the job was enqueued."""
    return (
        '<response status="success" code="19"><result><msg><line>query job enqueued with '
        f"jobid {job_id}</line></msg><job>{job_id}</job></result></response>\n"
    ).encode()


def big_threat_page(n: int = 5000) -> bytes:
    """Return a full page of `n` threat entries (about 2 KB each, like real ones)."""
    return log_get_response(
        [
            threat_entry(
                1000 + i,
                receive_time=f"2024/03/01 10:{(i // 60) % 60:02d}:{i % 60:02d}",
                high_res_timestamp=f"2024-03-01T10:{(i // 60) % 60:02d}:{i % 60:02d}.100+09:00",
            )
            for i in range(n)
        ]
    )
