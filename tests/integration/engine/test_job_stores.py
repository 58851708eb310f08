"""Both job stores keep the same contract: claims, leases, attempts, analyses and retention. The
shared one also keeps nonces and request rates for every front door. Real SQLite, real PostgreSQL
(a database per test), real SeaweedFS."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from psycopg import AsyncConnection

from tests import stores
from videorecog.engine import migrations
from videorecog.engine.covers import LocalCovers, S3Covers, open_s3_covers
from videorecog.engine.guards import PostgresGuards
from videorecog.engine.jobs import (
    CoversRound,
    Job,
    JobStore,
    Output,
    covers_deleted,
    delete_all_purged_covers,
)
from videorecog.engine.links import CoverLinks
from videorecog.engine.postgres_store import PostgresJobStore, open_pool
from videorecog.engine.sqlite_store import SqliteJobStore
from videorecog.parsers import S3Url
from videorecog.protocol.constants import JobStatus
from videorecog.s3client import s3_client
from videorecog.settings import S3Settings, Secret

LEASE = 0.3


@contextlib.asynccontextmanager
async def _migrated_database(server_url: str) -> AsyncIterator[str]:
    with stores.new_database(server_url) as url:
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            assert await migrations.migrate(conn) == [1, 2]
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server_url: str
) -> AsyncIterator[JobStore]:
    if request.param == "sqlite":
        sqlite = SqliteJobStore(tmp_path / "jobs.sqlite3")
        await sqlite.open()
        yield sqlite
        await sqlite.close()
        return
    async with _migrated_database(postgres_server_url) as url, open_pool(url, 4) as pool:
        postgres = PostgresJobStore(pool)
        await postgres.check_schema()
        yield postgres


def _job(job_id: str, url: str, created: float, action: str = "DetectVideoShot") -> Job:
    return Job(job_id, action, url, False, "ak", JobStatus.QUEUING, created, created)


async def _add(store: JobStore, *jobs: Job) -> None:
    for job in jobs:
        await store.add(job)


async def _drain(store: JobStore, owner: str) -> list[Job]:
    """Every job ``owner`` claims until nothing is left for it (held long enough not to lapse)."""
    taken: list[Job] = []
    while jobs := await store.claim(owner, LEASE * 10, 3):
        taken += jobs
    return taken


async def test_a_statement_refused_as_a_misuse_is_run_once_more(tmp_path: Path) -> None:
    """SQLite's spurious "bad parameter or other API misuse" costs one more try, not the job;
    a second refusal stands."""
    sqlite = SqliteJobStore(tmp_path / "jobs.sqlite3")
    await sqlite.open()
    calls: list[int] = []

    def flaky(conn: object, refusals: int) -> str:
        calls.append(1)
        if len(calls) <= refusals:
            raise sqlite3.InterfaceError("bad parameter or other API misuse")
        return "done"

    try:
        assert await sqlite._run(lambda c: flaky(c, 1)) == "done"
        assert len(calls) == 2
        calls.clear()
        with pytest.raises(sqlite3.InterfaceError):
            await sqlite._run(lambda c: flaky(c, 2))
        assert len(calls) == 2
    finally:
        await sqlite.close()


async def test_a_claim_takes_the_oldest_job_with_the_others_for_its_url(store: JobStore) -> None:
    now = time.time()
    await _add(store, _job("a1", "http://h/a", now), _job("b1", "http://h/b", now + 1))
    await _add(store, _job("a2", "http://h/a", now + 2))
    first = await store.claim("w1", LEASE, 3)
    assert [(j.job_id, j.status, j.attempts) for j in first] == [
        ("a1", JobStatus.PROCESSING, 1),
        ("a2", JobStatus.PROCESSING, 1),
    ]
    assert [j.job_id for j in await store.claim("w2", LEASE, 3)] == ["b1"]
    assert await store.claim("w2", LEASE, 3) == []
    stats = await store.queue_stats()
    assert (stats.depth, stats.oldest_seconds) == (0, 0.0)


async def test_jobs_arriving_for_a_held_video_join_its_holder(store: JobStore) -> None:
    await _add(store, _job("a1", "http://h/a", time.time()))
    await store.claim("w1", LEASE, 3)
    await _add(store, _job("a2", "http://h/a", time.time()), _job("b1", "http://h/b", time.time()))
    assert (await store.queue_stats()).depth == 2
    assert [j.job_id for j in await store.join("w1", "http://h/a", LEASE)] == ["a2"]
    assert await store.join("w1", "http://h/a", LEASE) == []
    assert (await store.queue_stats()).depth == 1


async def test_a_claim_leaves_a_held_video_to_its_holder(store: JobStore) -> None:
    held = LEASE * 10  # held throughout, however slow the machine
    await _add(store, _job("a1", "http://h/a", time.time()))
    await store.claim("w1", held, 3)
    # Jobs for the video arriving before its holder next looks are its holder's, not another
    # worker's: a second download and analysis of the same video would answer them no better.
    await _add(store, _job("a2", "http://h/a", time.time()), _job("b1", "http://h/b", time.time()))
    assert [j.job_id for j in await store.claim("w2", LEASE, 3)] == ["b1"]
    assert await store.claim("w2", LEASE, 3) == []
    assert [j.job_id for j in await store.join("w1", "http://h/a", held)] == ["a2"]
    # Once its holder lets go of the video, its new jobs are anyone's.
    for job_id in ("a1", "a2"):
        assert await store.finish(job_id, "w1", Output("", "shots", '{"ShotFrameIds": [0]}'))
    await _add(store, _job("a3", "http://h/a", time.time()))
    assert [j.job_id for j in await store.claim("w2", LEASE, 3)] == ["a3"]


async def test_a_lapsed_holder_does_not_keep_its_video(store: JobStore) -> None:
    await _add(store, _job("a1", "http://h/a", time.time()))
    await store.claim("w1", LEASE, 3)
    await _add(store, _job("a2", "http://h/a", time.time()))
    await asyncio.sleep(LEASE * 1.5)
    assert sorted(j.job_id for j in await store.claim("w2", LEASE, 3)) == ["a1", "a2"]


async def test_concurrent_claims_never_split_a_video_between_workers(store: JobStore) -> None:
    now = time.time()
    await _add(store, *(_job(f"j{n}", f"http://h/{n // 3}", now + n) for n in range(60)))
    holders: dict[str, set[str]] = {}
    drains = (_drain(store, f"w{n}") for n in range(4))
    for owner, jobs in enumerate(await asyncio.gather(*drains)):
        for job in jobs:
            holders.setdefault(job.video_url, set()).add(f"w{owner}")
    assert len(holders) == 20
    assert {url: len(owners) for url, owners in holders.items()} == dict.fromkeys(holders, 1)


async def test_concurrent_claims_never_take_the_same_job(store: JobStore) -> None:
    now = time.time()
    await _add(store, *(_job(f"j{n}", f"http://h/{n}", now + n) for n in range(20)))
    taken = await asyncio.gather(_drain(store, "w1"), _drain(store, "w2"))
    first, second = ([j.job_id for j in jobs] for jobs in taken)
    assert sorted(first + second) == sorted(f"j{n}" for n in range(20))
    assert not set(first) & set(second)


async def test_a_renewed_lease_holds_and_a_lapsed_one_is_taken_again(store: JobStore) -> None:
    await _add(store, _job("a1", "http://h/a", time.time()), _job("b1", "http://h/b", time.time()))
    held = [j.job_id for j in await store.claim("w1", LEASE, 3)]
    held += [j.job_id for j in await store.claim("w1", LEASE, 3)]
    for _ in range(3):
        await asyncio.sleep(LEASE / 2)
        assert await store.renew("w1", ["a1"], LEASE) == {"a1"}  # b1 is left to lapse
    retaken = await store.claim("w2", LEASE, 3)
    assert [(j.job_id, j.attempts) for j in retaken] == [("b1", 2)]
    # The first holder lost it: its renewal and its answer are refused.
    assert await store.renew("w1", ["b1"], LEASE) == set()
    assert not await store.finish("b1", "w1", Output("", "shots", '{"ShotFrameIds": [0]}'))
    assert await store.finish("b1", "w2", Output("", "shots", '{"ShotFrameIds": [0]}'))
    job = await store.get("b1")
    assert job is not None
    assert (job.status, job.result) == (JobStatus.PROCESS_SUCCESS, '{"ShotFrameIds": [0]}')


async def test_after_the_last_attempt_a_lapsed_job_ends_limit_retry_failed(store: JobStore) -> None:
    await _add(store, _job("a1", "http://h/a", time.time()))
    for attempt in (1, 2):
        [job] = await store.claim(f"w{attempt}", LEASE, 2)
        assert job.attempts == attempt
        assert await store.fail_exhausted(2) == []
        await asyncio.sleep(LEASE * 1.5)
    assert await store.claim("w3", LEASE, 2) == []
    assert await store.fail_exhausted(2) == ["a1"]
    job = await store.get("a1")
    assert job is not None
    assert job.status is JobStatus.LIMIT_RETRY_FAILED
    assert "2 attempts" in (job.error_message or "")


async def test_retention_forgets_jobs_and_the_analyses_only_they_used(store: JobStore) -> None:
    await _add(
        store, _job("old", "http://h/a", time.time()), _job("new", "http://h/b", time.time())
    )
    await store.claim("w", LEASE, 3)
    await store.claim("w", LEASE, 3)
    kept = [Output("sha-a", "shots", "{}"), Output("sha-b", "shots", "{}")]
    await store.keep_outputs(kept)
    assert await store.finish("old", "w", kept[0])
    cutoff = time.time() + 0.05
    await asyncio.sleep(0.1)
    assert await store.finish("new", "w", kept[1])  # finished after the cut-off: kept
    assert await store.purge(cutoff) == ["sha-a"]
    assert await store.get("old") is None
    assert await store.get("new") is not None
    assert await store.outputs("sha-a") == {}
    assert set(await store.outputs("sha-b")) == {"shots"}


class _Deletions:
    """The covers ``delete_purged_covers`` deletes: their contents' SHA-256, in order; with
    ``hold`` set, each deletion waits for ``release``; those of ``failing`` raise; each takes
    ``seconds``."""

    def __init__(
        self, *, hold: bool = False, failing: frozenset[str] = frozenset(), seconds: float = 0.0
    ) -> None:
        self.done: list[str] = []
        self.failing = failing
        self.seconds = seconds
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        if not hold:
            self.release.set()

    async def __call__(self, sha256: str) -> None:
        self.started.set()
        await self.release.wait()
        await asyncio.sleep(self.seconds)
        if sha256 in self.failing:
            raise ConnectionError("object storage away")
        self.done.append(sha256)


async def _purged(store: JobStore, job_id: str, sha256: str) -> None:
    """A job answered from ``sha256``'s analysis, then both purged."""
    await _add(store, _job(job_id, f"http://h/{job_id}", time.time()))
    await store.claim("w", LEASE, 3)
    answer = Output(sha256, "cover", "{}")
    await store.keep_outputs([answer])
    assert await store.finish(job_id, "w", answer)
    assert await store.purge(time.time() + 1) == [sha256]


async def test_a_purges_covers_are_deleted_by_a_later_round_if_it_was_cut_short(
    store: JobStore,
) -> None:
    """The purge's transaction queues its covers: a round stopped while it deleted them (at
    shutdown, say) leaves them to the next, which deletes them once."""
    await _purged(store, "old", "sha-a")
    held = _Deletions(hold=True)
    stopped = asyncio.create_task(store.delete_purged_covers(held))
    await asyncio.wait_for(held.started.wait(), 10)
    stopped.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopped
    deletions = _Deletions()
    assert (await store.delete_purged_covers(deletions)).deleted == 1
    assert (await store.delete_purged_covers(deletions)).deleted == 0
    assert deletions.done == ["sha-a"]


async def test_covers_that_cannot_be_deleted_now_are_tried_next_round(store: JobStore) -> None:
    """A deletion that fails (object storage away) holds up neither the round nor the queue."""
    await _purged(store, "one", "sha-a")
    await _purged(store, "two", "sha-b")
    failing = _Deletions(failing=frozenset({"sha-a"}))
    assert (await store.delete_purged_covers(failing)).deleted == 1
    assert failing.done == ["sha-b"]
    deletions = _Deletions()
    assert (await store.delete_purged_covers(deletions)).deleted == 1
    assert deletions.done == ["sha-a"]


async def test_covers_of_a_job_that_crashed_after_writing_them_are_deleted(
    store: JobStore,
) -> None:
    """A job that failed after its covers were written, before any analysis was kept, still
    refers to the content it noted: purged, the covers go with it."""
    await _add(store, _job("crashed", "http://h/c", time.time()))
    [job] = await store.claim("w", LEASE * 10, 3)
    assert await store.note_content("w", [job.job_id], "sha-c") == {job.job_id}
    crash = Output("", "", None, "InternalServerError", "The job failed unexpectedly.")
    assert await store.finish(job.job_id, "w", crash)
    deletions = _Deletions()
    assert (await store.delete_purged_covers(deletions)).deleted == 0
    assert await store.purge(time.time() + 1) == []
    assert (await store.delete_purged_covers(deletions)).deleted == 1
    assert deletions.done == ["sha-c"]


async def test_contents_a_job_refers_to_do_not_hold_up_the_queue(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round looks at a limited number of queued contents: one a job still refers to, queued
    first, does not take the place of one whose covers can go."""
    monkeypatch.setattr(f"{type(store).__module__}.DELETIONS_PER_ROUND", 1)
    await _purged(store, "old", "sha-a")
    await _add(store, _job("again", "http://h/again", time.time()))
    [job] = await store.claim("w", LEASE * 10, 3)
    assert await store.note_content("w", [job.job_id], "sha-a") == {job.job_id}
    await _purged(store, "other", "sha-b")
    deletions = _Deletions()
    assert (await store.delete_purged_covers(deletions)).deleted == 1
    assert deletions.done == ["sha-b"]


async def test_covers_of_a_content_analysed_again_are_kept(store: JobStore) -> None:
    """A purged content analysed again (an analysis of it kept) keeps its covers: they are the new
    analysis's; purged again, they go."""
    await _purged(store, "old", "sha-a")
    await store.keep_outputs([Output("sha-a", "cover", "{}")])
    deletions = _Deletions()
    assert (await store.delete_purged_covers(deletions)).deleted == 0
    assert await store.purge(time.time() + 1) == ["sha-a"]
    assert (await store.delete_purged_covers(deletions)).deleted == 1
    assert deletions.done == ["sha-a"]


async def test_covers_of_content_taken_up_again_are_not_deleted(store: JobStore) -> None:
    """A purged content a worker takes up again keeps its covers: while its job is answered (the
    deletion waits) and once it is analysed again (the deletion is dropped); purged again, its
    covers go."""
    await _purged(store, "old", "sha-a")
    await _add(store, _job("again", "http://h/again", time.time()))
    [job] = await store.claim("w", LEASE * 10, 3)
    assert await store.note_content("intruder", [job.job_id], "sha-a") == set()
    assert await store.note_content("w", [job.job_id], "sha-a") == {job.job_id}
    deletions = _Deletions()
    assert (await store.delete_purged_covers(deletions)).deleted == 0
    answer = Output("sha-a", "cover", "{}")
    await store.keep_outputs([answer])
    assert (await store.delete_purged_covers(deletions)).deleted == 0
    assert await store.finish(job.job_id, "w", answer)
    assert await store.purge(time.time() + 1) == ["sha-a"]
    assert (await store.delete_purged_covers(deletions)).deleted == 1
    assert deletions.done == ["sha-a"]


async def test_a_worker_taking_content_up_waits_for_its_covers_deletion(store: JobStore) -> None:
    """A worker that takes up a content whose covers are being deleted waits until they are gone
    (then writes its own): it never writes covers that the deletion then removes."""
    await _purged(store, "old", "sha-a")
    await _add(store, _job("again", "http://h/again", time.time()))
    [job] = await store.claim("w", LEASE * 10, 3)
    deletions = _Deletions(hold=True)
    deleting = asyncio.create_task(store.delete_purged_covers(deletions))
    await asyncio.wait_for(deletions.started.wait(), 10)
    noting = asyncio.create_task(store.note_content("w", [job.job_id], "sha-a"))
    await asyncio.sleep(0.3)
    assert not noting.done()
    deletions.release.set()
    assert (await deleting).deleted == 1
    await asyncio.wait_for(noting, 10)
    assert deletions.done == ["sha-a"]


async def test_contents_kept_again_do_not_end_the_deletions_early(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round of contents kept again deletes nothing, but the queue behind it is still worked
    through."""
    monkeypatch.setattr(f"{type(store).__module__}.DELETIONS_PER_ROUND", 1)
    await _purged(store, "old", "sha-a")
    await _purged(store, "other", "sha-b")
    await store.keep_outputs([Output("sha-a", "cover", "{}")])  # queued first, kept again
    deletions = _Deletions()
    assert await delete_all_purged_covers(store, deletions) == 1
    assert deletions.done == ["sha-b"]
    assert await store.delete_purged_covers(deletions) == CoversRound(False, 0, 0)  # none left


async def test_deletions_that_all_fail_end_the_work_for_now(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Object storage away: a full batch whose deletions all fail ends the work (tried again at
    the next purge), and the contents stay queued."""
    monkeypatch.setattr(f"{type(store).__module__}.DELETIONS_PER_ROUND", 1)
    await _purged(store, "old", "sha-a")
    await _purged(store, "other", "sha-b")
    failing = _Deletions(failing=frozenset({"sha-a", "sha-b"}))
    assert await asyncio.wait_for(delete_all_purged_covers(store, failing), 10) == 0
    deletions = _Deletions()
    assert await delete_all_purged_covers(store, deletions) == 2


async def test_front_doors_work_a_long_deletion_queue_through_together(
    postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two front doors deleting at once share each batch (a content the other is deleting is
    skipped), and neither stops while the queue is long: every content's covers go, once."""
    monkeypatch.setattr("videorecog.engine.postgres_store.DELETIONS_PER_ROUND", 4)
    async with (
        _migrated_database(postgres_server_url) as url,
        open_pool(url, 2) as one,
        open_pool(url, 2) as two,
    ):
        door_a, door_b = PostgresJobStore(one), PostgresJobStore(two)
        contents = [f"sha-{n:02d}" for n in range(12)]
        for sha256 in contents:
            await _purged(door_a, f"job-{sha256}", sha256)
        deletions = _Deletions(seconds=0.05)
        await asyncio.gather(
            delete_all_purged_covers(door_a, deletions),
            delete_all_purged_covers(door_b, deletions),
        )
        assert sorted(deletions.done) == contents


async def test_an_engine_runs_on_a_newer_schema_and_refuses_an_older_one(
    postgres_server_url: str,
) -> None:
    """A pod of the previous release (restarted during a rolling update, or after a rollback)
    starts on the schema the new release migrated; a store not yet migrated stops start-up."""
    async with (
        _migrated_database(postgres_server_url) as url,
        await AsyncConnection.connect(url, autocommit=True) as conn,
    ):
        await migrations.check(conn)
        await conn.execute(
            "INSERT INTO engine_schema_migrations (version, description) VALUES (%s, 'later')",
            (migrations.LATEST + 1,),
        )
        await migrations.check(conn)
        await conn.execute("DELETE FROM engine_schema_migrations WHERE version >= 2")
        with pytest.raises(migrations.SchemaError, match="engine migrate"):
            await migrations.check(conn)


async def test_front_doors_share_nonces_and_the_request_rate(postgres_server_url: str) -> None:
    now = [1_000_000.0]  # the doors' clock: the rate is checked at set moments, however slow
    async with (
        _migrated_database(postgres_server_url) as url,
        open_pool(url, 2) as one,
        open_pool(url, 2) as two,
    ):
        door_a, door_b = (PostgresGuards(pool, rate=2, clock=lambda: now[0]) for pool in (one, two))
        assert await door_a.use_nonce("ak", "n-1")
        assert not await door_b.use_nonce("ak", "n-1")
        assert await door_b.use_nonce("other-key", "n-1")
        # 2 requests/s with a burst of 2, counted across both doors.
        assert [await door.admit("ak") for door in (door_a, door_b, door_a)] == [True, True, False]
        now[0] += 0.49
        assert not await door_b.admit("ak")
        now[0] += 0.02  # a request's interval after the first
        assert await door_b.admit("ak")
        assert not await door_a.admit("ak")
        assert await door_a.admit("other-key")
        await door_a.forget_expired()


async def test_front_doors_count_the_rate_by_the_database_clock(postgres_server_url: str) -> None:
    async with (
        _migrated_database(postgres_server_url) as url,
        open_pool(url, 2) as one,
        open_pool(url, 2) as two,
    ):
        # One request every 10 s: the second door's refusal does not hang on the test's speed.
        door_a, door_b = PostgresGuards(one, rate=0.1), PostgresGuards(two, rate=0.1)
        assert await door_a.admit("ak")
        assert not await door_b.admit("ak")
        async with one.connection() as conn:
            cursor = await conn.execute(
                "SELECT tat - extract(epoch from clock_timestamp())::float8 FROM engine_rate_limits"
            )
            row = await cursor.fetchone()
        assert row is not None
        assert 9.0 < row[0] <= 10.0  # counted from the database's clock, not another


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _s3_settings(s3_bucket: stores.S3Location) -> S3Settings:
    return S3Settings(
        s3_bucket.endpoint_url,
        s3_bucket.access_key_id,
        Secret(s3_bucket.secret_access_key),
        s3_bucket.region,
        "path",
    )


async def test_covers_in_object_storage_are_linked_and_forgotten_together(
    s3_bucket: stores.S3Location, tmp_path: Path
) -> None:
    settings = _s3_settings(s3_bucket)
    async with open_s3_covers(S3Url(s3_bucket.bucket, "covers"), settings, tmp_path) as covers:
        for name in ("abc-0.png", "abc-1.gif", "abd-0.png"):
            (covers.staging / name).write_bytes(b"\x89PNG\r\n\x1a\n" + name.encode())
        await covers.keep(["abc-0.png", "abc-1.gif", "abd-0.png"])
        assert list(covers.staging.iterdir()) == []
        links = {name: await covers.link(name) for name in ("abc-0.png", "abc-1.gif", "abd-0.png")}
        assert all("X-Amz-Expires=1800" in link for link in links.values())
        assert [_status(link) for link in links.values()] == [200, 200, 200]
        await covers.forget("abc")
        assert [_status(link) for link in links.values()] == [404, 404, 200]


class _OneKeyRefused:
    """A FAULT INJECTION around the real S3 client: its multi-object delete answers as S3 does
    when it could not delete one of the keys (200 for the request, the key listed under
    ``Errors``, here AccessDenied), having deleted the others for real. SeaweedFS cannot be made
    to refuse one key of a batch."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def delete_objects(self, **request: Any) -> dict[str, Any]:
        refused, *rest = request["Delete"]["Objects"]
        delete = {**request["Delete"], "Objects": rest}
        answer: dict[str, Any] = await self._client.delete_objects(**{**request, "Delete": delete})
        error = {"Key": refused["Key"], "Code": "AccessDenied", "Message": "Access Denied"}
        return {**answer, "Errors": [error]}


async def test_a_cover_object_not_deleted_keeps_its_content_queued(
    s3_bucket: stores.S3Location, tmp_path: Path
) -> None:
    """A multi-object delete that leaves one key behind (S3 answers 200 and lists the key) is a
    failed deletion: the content stays queued (``covers_deleted`` is False) and the next round,
    with the store answering, deletes what was left."""
    settings = _s3_settings(s3_bucket)
    location = S3Url(s3_bucket.bucket, "covers")
    async with s3_client(settings, attempts=1) as client:
        covers = S3Covers(client, location, tmp_path)
        refusing = S3Covers(_OneKeyRefused(client), location, tmp_path)
        names = ["abc-0.png", "abc-1.png"]
        for name in names:
            (tmp_path / name).write_bytes(b"\x89PNG\r\n\x1a\n" + name.encode())
        await covers.keep(names)
        links = [await covers.link(name) for name in names]
        assert not await covers_deleted(refusing.forget, "abc")
        assert sorted(_status(link) for link in links) == [200, 404]
        assert await covers_deleted(covers.forget, "abc")
        assert [_status(link) for link in links] == [404, 404]


async def test_local_covers_are_forgotten_by_analysis(tmp_path: Path) -> None:
    covers = LocalCovers(tmp_path / "covers", CoverLinks(b"k" * 32, "http://e"))
    for name in ("abc-0.png", "abd-0.png"):
        (covers.staging / name).write_bytes(b"x")
    await covers.forget("abc")
    assert covers.path("abc-0.png") is None
    assert covers.path("abd-0.png") is not None
    assert covers.path("../abd-0.png") is None


async def test_housekeeping_purges_rows_and_objects_together(
    postgres_server_url: str, s3_bucket: stores.S3Location, tmp_path: Path
) -> None:
    """The front door's housekeeping, on the shared store and S3: once retention has passed, the
    job, its analysis and its covers' objects go together, and the queue gauges are set."""
    from aiohttp import web

    from videorecog.engine.app import METRICS, STATE, _housekeeping
    from videorecog.engine.metrics import EngineMetrics
    from videorecog.engine.state import open_state
    from videorecog.settings import load

    settings = load(
        {
            **s3_bucket.env(),
            "VIDEORECOG_S3_ADDRESSING_STYLE": "path",
            "VIDEORECOG_ENGINE_DATA_DIR": str(tmp_path),
        }
    )
    async with _migrated_database(postgres_server_url) as url:
        engine = dataclasses.replace(
            settings.engine,
            store_url=Secret(url),
            cover_store_url=S3Url(s3_bucket.bucket, "covers"),
        )
        async with open_state(engine, settings.s3, connections=2) as state:
            await _add(state.store, _job("done", "http://h/a", time.time()))
            await _add(state.store, _job("waiting", "http://h/b", time.time()))
            [job] = await state.store.claim("w", LEASE, 3)
            (state.covers.staging / "sha-x-0.png").write_bytes(b"\x89PNG\r\n\x1a\n")
            await state.covers.keep(["sha-x-0.png"])
            link = await state.covers.link("sha-x-0.png")
            answer = Output("sha-x", "cover", '{"Outputs": [{"File": "sha-x-0.png"}]}')
            await state.store.keep_outputs([answer])
            assert await state.store.finish(job.job_id, "w", answer)
            assert _status(link) == 200

            app = web.Application()
            app[STATE], app[METRICS] = state, EngineMetrics()
            await asyncio.sleep(0.3)
            task = asyncio.create_task(_housekeeping(app, retention=0.2))
            try:
                # The rows go in one transaction, the objects after it: wait for both (the
                # task cancelled between them would leave the object behind).
                deadline = time.monotonic() + 10
                while await state.store.get("done") is not None or _status(link) != 404:
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.1)
            finally:
                task.cancel()
            assert await state.store.outputs("sha-x") == {}
            assert await state.store.get("waiting") is not None
            depth = app[METRICS].registry.get_sample_value("videorecog_engine_queue_depth")
            assert depth == 1
