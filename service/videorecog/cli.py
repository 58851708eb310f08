"""The ``videorecog`` command. The only place that reads the environment and handles signals."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from videorecog import __version__, logs
from videorecog.filecommands import (
    add_cover_arguments,
    add_report_arguments,
    add_shots_arguments,
    add_split_arguments,
)
from videorecog.settings import VARIABLES, Settings, SettingsError, load

if TYPE_CHECKING:
    # At run time only where a command runs an event loop: the file commands start faster.
    import asyncio

Handler = Callable[[Settings, argparse.Namespace], int]
T = TypeVar("T")


@contextlib.asynccontextmanager
async def stop_signals() -> AsyncIterator[asyncio.Event]:
    """An event set by the first SIGINT or SIGTERM; handlers are installed before anything
    starts, so a signal during start-up still means a clean stop."""
    import asyncio

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _run_loop(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop when it is installed (Linux, macOS): the pipeline and the servers
    spend much of their CPU in the event loop and socket I/O, which uvloop does in C."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


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
        async with stop_signals() as stop, EmbeddedBroker(args.host, args.port) as broker:
            print(f"broker ready on {broker.bootstrap_servers} (Ctrl-C to stop)", flush=True)
            await stop.wait()

    _run_loop(serve())
    return 0


def _run_topics(settings: Settings, args: argparse.Namespace) -> int:
    from videorecog.topics import ensure_topics, service_topics

    specs = service_topics(settings.kafka, args.partitions, args.replication_factor)
    _run_loop(ensure_topics(settings.kafka.bootstrap_servers, specs))
    for spec in specs:
        print(f"topic {spec.name}: {spec.partitions} partition(s)", flush=True)
    if args.migrate_job_log:
        from videorecog.pipeline.joblog import migrate

        moved = _run_loop(migrate(settings.kafka.bootstrap_servers, settings.kafka.jobs_topic))
        print(f"job log {settings.kafka.jobs_topic}: {moved} entries moved", flush=True)
    return 0


def _run_demo(settings: Settings, args: argparse.Namespace) -> int:
    from videorecog.demo import run_demo

    return _run_loop(run_demo(settings))


def _serve_engine(settings: Settings, role_name: str) -> int:
    from videorecog.engine.app import Role
    from videorecog.engine.server import serve

    async def run() -> None:
        async with stop_signals() as stop:
            await serve(settings, Role[role_name], stop)

    _run_loop(run())
    return 0


def _run_engine(settings: Settings, args: argparse.Namespace) -> int:
    if args.task == "migrate":
        from videorecog.engine.server import migrate

        applied = _run_loop(migrate(settings))
        print(f"job store schema: {len(applied)} step(s) applied {applied}", flush=True)
        return 0
    return _serve_engine(settings, "API")


def _run_worker(settings: Settings, args: argparse.Namespace) -> int:
    return _serve_engine(settings, "WORKER")


def _run_pipeline(settings: Settings, args: argparse.Namespace) -> int:
    from videorecog.pipeline.runner import run

    async def main() -> None:
        async with stop_signals() as stop:
            await run(settings, stop)

    _run_loop(main())
    return 0


def _run_simulator(settings: Settings, args: argparse.Namespace) -> int:
    from videorecog.serving import serving
    from videorecog.simulator import ApiSimulator, SimulatorConfig

    key_id, _, secret = args.credentials.partition(":")
    config = SimulatorConfig(
        median_job_seconds=args.job_seconds,
        throttle_rate=args.throttle_rate,
        busy_rate=args.busy_rate,
        failure_rate=args.failure_rate,
        account_rate=args.account_rate,
        poll_account_rate=args.poll_account_rate,
    )
    simulator = ApiSimulator({key_id: secret}, config)

    async def main() -> None:
        async with stop_signals() as stop, serving(simulator.app(), args.host, args.port) as port:
            print(f"API SIMULATOR (no real analysis) on http://{args.host}:{port}", flush=True)
            await stop.wait()

    _run_loop(main())
    return 0


def _run_dev(settings: Settings, args: argparse.Namespace) -> int:
    from videorecog.devstack import DevStack

    media = Path(args.media).resolve()

    async def main() -> None:
        async with stop_signals() as stop, DevStack(settings, media) as stack:
            s = stack.settings
            print(
                "videorecog dev stack (Ctrl-C to stop)\n"
                f"  kafka     {s.kafka.bootstrap_servers}  (topic {s.kafka.input_topic})\n"
                f"  engine    {s.api.endpoint}  (AccessKey {s.api.access_key_id})\n"
                f"  media     {stack.media_url('')}  <- {stack.media_dir}\n"
                f"  metrics   http://127.0.0.1:{stack.metrics_port}/metrics",
                flush=True,
            )
            await stack.wait(stop)

    _run_loop(main())
    return 0


def _run_shots(settings: Settings, args: argparse.Namespace) -> int:
    from videorecog.filecommands import run_shots

    return run_shots(settings, args)


def _run_split(settings: Settings, args: argparse.Namespace) -> int:
    from videorecog.filecommands import run_split

    return run_split(settings, args)


def _run_report(settings: Settings, args: argparse.Namespace) -> int:
    from videorecog.filecommands import run_report

    return run_report(settings, args)


def _run_cover(settings: Settings, args: argparse.Namespace) -> int:
    from videorecog.filecommands import run_cover

    return run_cover(settings, args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videorecog", description=__doc__)
    parser.add_argument("--version", action="version", version=f"videorecog {__version__}")
    subparsers = parser.add_subparsers(required=True, metavar="COMMAND")

    broker = _command(
        subparsers, "broker", "run the embedded Kafka-protocol broker", [], _run_broker
    )
    broker.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    broker.add_argument("--port", type=int, default=9092, help="listen port (default 9092)")

    topics = _command(
        subparsers,
        "topics",
        "create the service's topics where missing (existing ones are left as they are)",
        ["kafka"],
        _run_topics,
    )
    topics.add_argument("--partitions", type=int, default=3, help="input/output/job-log partitions")
    topics.add_argument("--replication-factor", type=int, default=1, help="replicas per partition")
    topics.add_argument(
        "--migrate-job-log",
        action="store_true",
        help="move job-log entries written by earlier versions where this one reads them "
        "(once, with the pipeline stopped)",
    )
    _command(
        subparsers,
        "demo",
        "run the local demo end to end and print the results",
        ["kafka"],
        _run_demo,
    )
    _command(
        subparsers,
        "pipeline",
        "run the pipeline: upload events in, results out",
        ["kafka", "api", "pipeline", "covers", "s3"],
        _run_pipeline,
    )
    simulator = _command(
        subparsers,
        "simulator",
        "run the API SIMULATOR for load and fault tests (it analyses nothing)",
        [],
        _run_simulator,
    )
    simulator.add_argument("--host", default="127.0.0.1")
    simulator.add_argument("--port", type=int, default=8090)
    simulator.add_argument("--credentials", default="sim:sim", help="id:secret it accepts")
    simulator.add_argument("--job-seconds", type=float, default=1.0, help="median job time")
    simulator.add_argument("--throttle-rate", type=float, default=0.0)
    simulator.add_argument("--busy-rate", type=float, default=0.0)
    simulator.add_argument("--failure-rate", type=float, default=0.0)
    simulator.add_argument(
        "--account-rate",
        type=float,
        default=0.0,
        help="requests/s per AccessKeyId and submission action; Throttling.User above (0: none)",
    )
    simulator.add_argument(
        "--poll-account-rate",
        type=float,
        default=0.0,
        help="the same for GetAsyncJobResult (0: no limit)",
    )
    dev = _command(
        subparsers,
        "dev",
        "everything on one machine: embedded broker, engine, file server, pipeline",
        ["kafka", "api", "pipeline", "engine"],
        _run_dev,
    )
    dev.add_argument("--media", default=".", help="directory served at /media/ (default: .)")
    engine = _command(
        subparsers,
        "engine",
        "serve the videorecog API (the self-hosted engine; with no store URL, its workers too)",
        ["engine", "s3"],
        _run_engine,
    )
    engine.add_argument(
        "task",
        nargs="?",
        choices=["migrate"],
        help="migrate: bring the shared job store's schema up to date, then exit",
    )
    _command(
        subparsers,
        "worker",
        "claim jobs from the shared store and analyse them (the engine's worker role)",
        ["engine", "s3"],
        _run_worker,
    )
    shots = _command(
        subparsers,
        "shots",
        "print the shots of a video: JSON, CSV, EDL, OTIO or FCP XML",
        [],
        _run_shots,
    )
    add_shots_arguments(shots)
    split = _command(
        subparsers,
        "split",
        "write one file per shot (frame-exact), print them as JSON",
        [],
        _run_split,
    )
    add_split_arguments(split)
    report = _command(
        subparsers, "report", "write a storyboard of the shots (HTML and pictures)", [], _run_report
    )
    add_report_arguments(report)
    cover = _command(
        subparsers, "cover", "write the covers of a video, print them as JSON", [], _run_cover
    )
    add_cover_arguments(cover)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Before numpy's import, here or in any process started from here: OpenBLAS would start a
    # thread per core that spins for about 0.1 s (70 ms of CPU on 2 cores, taken from the
    # decoding processes), and the analysis's linear algebra is a few tiny least squares.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
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
    except SettingsError as exc:
        print(f"videorecog: configuration error: {exc}", file=sys.stderr)
        return 2
