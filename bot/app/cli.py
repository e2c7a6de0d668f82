"""The `cdc-bot` console script: serve, check, report, sandbox, shell, config validate and db upgrade."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

from bot.app.log_format import configure_logging
from bot.core.config import Config, ConfigError, UnknownPipeline, load_config, resolve_config_path
from bot.core.durations import parse_duration
from bot.core.results import Status

# The same names as bot.render.report_messages.REPORT_KINDS (kept literal: importing that module is slow).
REPORT_KINDS = ("morning", "weekly-performance", "capacity", "backups", "security", "dr")


def _common(top_level: bool = False) -> argparse.ArgumentParser:
    """--config and --log-level, accepted before or after the subcommand.

    The subcommands' copies default to SUPPRESS: otherwise their unset default would overwrite a
    value given before the subcommand (`cdc-bot --config X check`).
    """
    common = argparse.ArgumentParser(add_help=False)
    config_default = None if top_level else argparse.SUPPRESS
    level_default = os.environ.get("CDC_BOT_LOG_LEVEL", "WARNING") if top_level else argparse.SUPPRESS
    common.add_argument(
        "--config",
        metavar="PATH",
        default=config_default,
        help="YAML config (default: $CDC_BOT_CONFIG, then ./cdc-bot.yml)",
    )
    common.add_argument("--log-level", default=level_default, help="logging level (default WARNING; INFO for serve)")
    format_default = os.environ.get("CDC_BOT_LOG_FORMAT", "text") if top_level else argparse.SUPPRESS
    common.add_argument("--log-format", choices=("text", "json"), default=format_default, help="text or json")
    return common


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cdc-bot")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="cdc-bot",
        description="ChatOps for the Oracle → Debezium → MSK → Redshift CDC pipeline.",
        parents=[_common(top_level=True)],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", parents=[common], help="run the bot (Socket Mode with SLACK_APP_TOKEN, else HTTP)")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--no-scheduler", action="store_true", help="do not run scheduled posts in this process")

    check = sub.add_parser("check", parents=[common], help="run health checks once (Nagios exit codes)")
    check.add_argument("names", nargs="*", metavar="NAME", help="check names (default: all that apply)")
    check.add_argument("--pipeline", "-p", help="pipeline name (default: the first)")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--timeout", help="deadline per check, e.g. 5 or 5s (default: checks.timeout)")

    report = sub.add_parser("report", parents=[common], help="build a scheduled report and print or post it")
    report.add_argument("kind", choices=REPORT_KINDS)
    report.add_argument("--post", action="store_true", help="post to the ops channel instead of printing")
    report.add_argument("--pipeline", "-p", action="append", help="only this pipeline (repeatable)")

    backup = sub.add_parser("backup", parents=[common], help="run the nightly backup now (topics and offsets to S3)")
    backup.add_argument("--pipeline", "-p", action="append", help="only this pipeline (repeatable; default: all)")

    sandbox = sub.add_parser("sandbox", parents=[common], help="run a demo pipeline on local real backends")
    sandbox.add_argument("--config-out", default="cdc-bot.sandbox.yml", metavar="PATH")
    sandbox.add_argument(
        "--demo", action="store_true", help="print the health check and morning report for the sandbox, then stop"
    )

    shell = sub.add_parser("shell", parents=[common], help="a local terminal chat with the bot")
    shell.add_argument("--user", default="U0OPERATOR", help="Slack user id to act as (default U0OPERATOR)")

    cfg = sub.add_parser("config", parents=[common], help="config file tools")
    cfg_sub = cfg.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    validate = cfg_sub.add_parser("validate", parents=[common], help="validate a config file")
    validate.add_argument("path", nargs="?", help="config path (default: --config, $CDC_BOT_CONFIG, ./cdc-bot.yml)")

    db = sub.add_parser("db", parents=[common], help="state store tools")
    db_sub = db.add_subparsers(dest="db_command", metavar="SUBCOMMAND")
    db_sub.add_parser("upgrade", parents=[common], help="apply the state store's migrations ($CDC_BOT_DATABASE_URL)")
    manifest = sub.add_parser("manifest", parents=[common], help="print the Slack app manifest (Socket Mode default)")
    manifest.add_argument("--http", metavar="BASE_URL", help="HTTP mode: request URLs under BASE_URL (https://...)")
    return parser


def _load(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"{exc.path}: invalid config", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SystemExit(3) from None


def cmd_validate(args: argparse.Namespace) -> int:
    path = resolve_config_path(args.path or args.config)
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"{exc.path}: {len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}")
        for problem in exc.problems:
            print(f"  - {problem}")
        return 1
    names = ", ".join(config.pipeline_names)
    print(f"{path}: OK ({len(config.pipelines)} pipeline{'s' if len(config.pipelines) != 1 else ''}: {names})")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.store.engine import database_url, display_url, make_engine
    from bot.store.migrate import upgrade

    url = database_url()
    engine = make_engine(url)
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    change = "already at" if before == after else f"upgraded from {before or 'nothing'} to"
    print(f"{display_url(url)}: {change} revision {after}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from bot.app.wiring import build_services
    from bot.checks import UnknownCheck
    from bot.render.text import health_report_text

    config = _load(args.config)
    try:
        timeout = parse_duration(args.timeout).total_seconds() if args.timeout is not None else None
        if timeout is not None and timeout <= 0:
            raise ValueError("must be more than 0, e.g. 5s")
    except ValueError as exc:
        print(f"--timeout: {exc}", file=sys.stderr)
        return Status.UNKNOWN.exit_code
    # A one-off check keeps no state: an in-memory store, so no database file appears where it ran.
    services = build_services(config, database_url="sqlite://")
    try:
        report = services.health(args.pipeline, args.names or None, timeout=timeout)
    except (UnknownPipeline, UnknownCheck) as exc:
        print(str(exc).replace("`", ""), file=sys.stderr)
        return Status.UNKNOWN.exit_code
    except Exception as exc:  # monitors read any exit but 0-3 wrongly: a crash is UNKNOWN, with its reason
        print(f"check failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return Status.UNKNOWN.exit_code
    if args.format == "json":
        print(json.dumps(report.to_json_dict(), indent=2))
    else:
        print(health_report_text(report, tz=config.slack.timezone))
    return report.status.exit_code


def cmd_report(args: argparse.Namespace) -> int:
    from bot.app.wiring import build_services
    from bot.render.report_messages import report_message, report_text

    config = _load(args.config)
    if args.post and not os.environ.get("SLACK_BOT_TOKEN"):
        print("--post needs SLACK_BOT_TOKEN (and SLACK_API_URL for a Slack other than slack.com)", file=sys.stderr)
        return 2
    services = build_services(config)
    try:
        if args.post:
            from bot.slack.client import make_web_client
            from bot.slack.posting import post_report

            message = report_message(services, args.kind, args.pipeline)
            ts = post_report(make_web_client(), config.slack.ops_channel, message)
            print(f"posted to {config.slack.ops_channel} (ts {ts})")
        else:
            print(report_text(services, args.kind, args.pipeline))
    except UnknownPipeline as exc:
        print(str(exc).replace("`", ""), file=sys.stderr)
        return 2
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.app.wiring import build_services
    from bot.backups.nightly import run_backup
    from bot.render.scheduled import backup_run_lines

    config = _load(args.config)
    services = build_services(config)
    try:
        pipelines = [config.pipeline(name) for name in args.pipeline] if args.pipeline else config.pipelines
    except UnknownPipeline as exc:
        print(str(exc).replace("`", ""), file=sys.stderr)
        return 2
    failed = 0
    for pipeline in pipelines:
        run = run_backup(pipeline, services.clients(pipeline), config.slack.tz)
        print("\n".join(backup_run_lines(run)))
        failed += 0 if run.ok else 1
    return 1 if failed else 0


def _sandbox_missing(command: str) -> bool:
    """True (after saying so on stderr) when this build has no bot.sandbox, as in the production image.

    The image leaves the fakes out (.dockerignore), so `sandbox` and `shell` need a source install.
    """
    if importlib.util.find_spec("bot.sandbox") is not None:
        return False
    print(
        f"cdc-bot {command}: not available in this build (bot.sandbox is not installed); "
        "run it from a source checkout: pip install -e '.[sandbox]'",
        file=sys.stderr,
    )
    return True


def cmd_sandbox(args: argparse.Namespace) -> int:
    if _sandbox_missing("sandbox"):
        return 2
    from bot.sandbox.demo import Sandbox, SandboxTraffic

    print(
        "starting the sandbox: Kafka (Tansu), AWS (moto), Redshift (PostgreSQL + PgBouncer), Kubernetes …",
        file=sys.stderr,
        flush=True,
    )
    try:
        sandbox = Sandbox().start()
    except RuntimeError as exc:
        print(f"sandbox failed to start: {exc}", file=sys.stderr)
        return 1
    try:
        path = sandbox.write_config(args.config_out)
        if args.demo:
            return _demo(str(path))
        traffic = SandboxTraffic(sandbox)
        traffic.start()
        print(f"sandbox ready: {path}", flush=True)
        print("change events keep flowing every few seconds; Ctrl-C stops everything", file=sys.stderr, flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(3600):
                pass
        except KeyboardInterrupt:
            pass
        traffic.stop()
        return 0
    finally:
        sandbox.stop()


def _demo(config_path: str) -> int:
    from bot.app.wiring import build_services
    from bot.render.reports import morning_report_text
    from bot.reports.morning import build_morning_report

    config = load_config(config_path)
    services = build_services(config, database_url="sqlite://")
    print(f"sandbox ready: {config_path}\n")
    print("What the 9:00 morning report would post to #cdc-pipeline-ops:\n")
    print(morning_report_text(build_morning_report(services), tz=config.slack.timezone))
    print(
        f"\nTry more against a running sandbox: `cdc-bot sandbox` in one terminal, then "
        f"`cdc-bot check --config {config_path}` or `cdc-bot shell --config {config_path}`."
    )
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    from bot.app.manifest import render_manifest

    if args.http is not None and not args.http.startswith(("https://", "http://")):
        print(f"--http: {args.http!r} is not an http(s):// URL", file=sys.stderr)
        return 2
    print(render_manifest(args.http), end="")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.app.server import serve

    config = _load(args.config)
    return serve(config, host=args.host, port=args.port, scheduler=not args.no_scheduler)


def cmd_shell(args: argparse.Namespace) -> int:
    if _sandbox_missing("shell"):
        return 2
    from bot.app.shell import run_shell

    config = _load(args.config)
    return run_shell(config, user_id=args.user)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = args.log_level
    if args.command == "serve" and "CDC_BOT_LOG_LEVEL" not in os.environ and level == "WARNING":
        level = "INFO"
    configure_logging(getattr(logging, str(level).upper(), logging.WARNING), args.log_format)
    handlers = {
        "serve": cmd_serve,
        "check": cmd_check,
        "report": cmd_report,
        "backup": cmd_backup,
        "sandbox": cmd_sandbox,
        "shell": cmd_shell,
        "manifest": cmd_manifest,
    }
    if args.command == "config":
        if args.config_command != "validate":
            parser.parse_args(["config", "--help"])
        return cmd_validate(args)
    if args.command == "db":
        if args.db_command != "upgrade":
            parser.parse_args(["db", "--help"])
        return cmd_db_upgrade(args)
    if args.command not in handlers:
        parser.print_help()
        return 2
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
