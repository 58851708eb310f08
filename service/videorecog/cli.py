"""The ``videorecog`` command. The only place that reads the environment and handles signals."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence

from videorecog import __version__, logs
from videorecog.settings import VARIABLES, Settings, SettingsError, load

Handler = Callable[[Settings, argparse.Namespace], int]


async def wait_for_signal() -> None:
    """Return on the first SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _dest(env: str) -> str:
    return "setting_" + env.lower()


def _add_setting_flags(parser: argparse.ArgumentParser, sections: Sequence[str]) -> None:
    group = parser.add_argument_group("settings (each overrides its environment variable)")
    for var in VARIABLES:
        if var.section in sections:
            group.add_argument(
                var.flag,
                dest=_dest(var.env),
                metavar="VALUE",
                help=f"{var.help} [{var.env}, default {var.default!r}]"
                if not var.secret
                else f"{var.help} [{var.env}]",
            )


def _command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    sections: Sequence[str],
    handler: Handler,
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    _add_setting_flags(parser, ["log", *sections])
    parser.set_defaults(handler=handler)
    return parser


def _run_broker(settings: Settings, args: argparse.Namespace) -> int:
    from videorecog.broker import EmbeddedBroker

    async def serve() -> None:
        async with EmbeddedBroker(args.host, args.port) as broker:
            print(f"broker ready on {broker.bootstrap_servers} (Ctrl-C to stop)", flush=True)
            await wait_for_signal()

    asyncio.run(serve())
    return 0


def _run_demo(settings: Settings, args: argparse.Namespace) -> int:
    from videorecog.demo import run_demo

    return _run_async(run_demo(settings))


def _run_async(coro: Awaitable[int]) -> int:
    async def main() -> int:
        return await coro

    return asyncio.run(main())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videorecog", description=__doc__)
    parser.add_argument("--version", action="version", version=f"videorecog {__version__}")
    subparsers = parser.add_subparsers(required=True, metavar="COMMAND")

    broker = _command(
        subparsers, "broker", "run the embedded Kafka-protocol broker", [], _run_broker
    )
    broker.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    broker.add_argument("--port", type=int, default=9092, help="listen port (default 9092)")

    _command(
        subparsers,
        "demo",
        "run the local demo end to end and print the results",
        ["kafka"],
        _run_demo,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {
        var.env: value
        for var in VARIABLES
        if (value := getattr(args, _dest(var.env), None)) is not None
    }
    try:
        settings = load(os.environ, overrides)
    except SettingsError as exc:
        print(f"videorecog: configuration error: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log.level, settings.log.format)
    handler: Handler = args.handler
    try:
        return handler(settings, args)
    except KeyboardInterrupt:
        return 130
