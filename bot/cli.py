"""The `panbot` command line: run, check, demo, simulator, db."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from bot.config import ConfigError, Settings, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="panbot", description="Slack chat-ops for PAN-OS firewall alerts."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot until SIGINT/SIGTERM")
    commands.add_parser("check", help="validate the configuration and reach every service")
    demo = commands.add_parser("demo", help="the whole pipeline on this machine, no accounts")
    demo.add_argument("--follow", action="store_true", help="keep running and polling")
    demo.add_argument("--language", choices=["en", "ja"], help="message language")
    sim = commands.add_parser("simulator", help="the PAN-OS XML API simulator alone")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8443)
    sim.add_argument("--api-key", default="panbot-simulator-key")
    sim.add_argument("--tls", action="store_true", help="HTTPS with a self-signed certificate")
    sim.add_argument("--scenario", default="guide", help="guide (default), noise or empty")
    db = commands.add_parser("db", help="database migrations")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    for name, text in (
        ("upgrade", "migrate to the newest schema"),
        ("check", "fail if models and migrations disagree"),
    ):
        sub = db_commands.add_parser(name, help=text)
        sub.add_argument("--database-url", help="default: PANBOT_DATABASE_URL")
    return parser


def configure_logging(level: str) -> None:
    from bot.logs import configure

    configure(level)


def _settings(**overrides: object) -> Settings:
    return load_settings(**overrides)


def _run(settings: Settings) -> int:
    from bot.app import PanBot
    from bot.malloc import limit_arenas

    settings.require_for_run()
    limit_arenas()  # before PanBot starts its threads
    bot = PanBot(settings)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        logging.getLogger("panbot").info("signal %d: shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    bot.start()
    stop.wait()
    bot.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `panbot` command; return its exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "simulator":
            from bot.simulator.server import serve

            serve(args.host, args.port, args.api_key, args.tls, args.scenario)
            return 0
        if args.command == "db":
            from storage.migrate import check, upgrade

            url = args.database_url or _settings().database_url
            if args.db_command == "upgrade":
                upgrade(url)
                print("database at head")
            else:
                upgrade(url)
                check(url)
                print("models and migrations agree")
            return 0
        if args.command == "demo":
            from bot.demo import run_demo

            return run_demo(follow=args.follow, language=args.language)
        settings = _settings()
        configure_logging(settings.log_level)
        if args.command == "check":
            from bot.check import run_checks

            return run_checks(settings)
        return _run(settings)
    except ConfigError as exc:
        print(f"panbot: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
