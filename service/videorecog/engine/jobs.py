"""Jobs, the analyses that answer them, and the store that keeps both.

``JobStore`` is what the front door and the workers need of a store; two implement it:
``SqliteJobStore`` (embedded default: one file in the data directory, one process) and
``PostgresJobStore`` (shared by any number of front doors and workers).

A job is a queue entry too. A worker *claims* the oldest waiting job, with every other waiting job
for the same video URL, and holds them with a *lease* it renews while it works. A job whose lease
ran out (its worker died) is claimed again; after the last attempt it ends ``LIMIT_RETRY_FAILED``.

What one analysis of a video found is kept per output (``shots``, ``cover``, ``gif``) under the
SHA-256 of the video's bytes, for the retention period: a later job for the same bytes, whatever
its URL, is answered from it without decoding again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from videorecog.protocol.constants import JobStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    job_id: str
    action: str
    video_url: str
    is_gif: bool
    access_key_id: str
    status: JobStatus
    created_at: float
    updated_at: float
    result: str | None = None  # the Result JSON document, serialised
    error_code: str | None = None
    error_message: str | None = None
    attempts: int = 0  # claims so far: more than one means a lease ran out before
    content_sha256: str | None = None  # the analysed bytes that answered it


COLUMNS = (
    "job_id, action, video_url, is_gif, access_key_id, status, created_at, updated_at, "
    "result, error_code, error_message, attempts, content_sha256"
)
"""A job's columns, in the order ``row_to_job`` reads them: the same in both stores."""


def row_to_job(row: tuple[Any, ...]) -> Job:
    (job_id, action, url, is_gif, key, status, created, updated, result, code, message) = row[:11]
    return Job(
        str(job_id),
        str(action),
        str(url),
        bool(is_gif),
        str(key),
        JobStatus(str(status)),
        float(created),
        float(updated),
        result,
        code,
        message,
        int(row[11]),
        row[12],
    )


@dataclass(frozen=True)
class Output:
    """One output of one analysed video: a Result document (covers by file name) or an error."""

    sha256: str
    name: str  # shots, cover or gif: protocol/tasks.py's task names
    result: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class QueueStats:
    depth: int  # jobs waiting to be claimed
    oldest_seconds: float  # how long the oldest of them has waited (0 when none)


class JobStore(Protocol):
    async def add(self, job: Job) -> None: ...
    async def get(self, job_id: str) -> Job | None: ...

    async def claim(self, owner: str, lease_seconds: float, max_attempts: int) -> list[Job]:
        """The oldest claimable job and every other claimable job for its URL, now PROCESSING
        and leased to ``owner``; empty when nothing waits."""
        ...

    async def join(self, owner: str, video_url: str, lease_seconds: float) -> list[Job]:
        """Jobs for ``video_url`` still QUEUING, now leased to ``owner`` (who holds the video)."""
        ...

    async def renew(self, owner: str, job_ids: list[str], lease_seconds: float) -> set[str]:
        """Extend the leases ``owner`` still holds; the ids it still holds."""
        ...

    async def finish(self, job_id: str, owner: str, answer: Output) -> bool:
        """Make the job final with ``answer`` if ``owner`` still holds it; whether it did."""
        ...

    async def fail_exhausted(self, max_attempts: int) -> list[str]:
        """Jobs whose lease ran out on their last attempt become LIMIT_RETRY_FAILED; their ids."""
        ...

    async def outputs(self, sha256: str) -> dict[str, Output]: ...
    async def keep_outputs(self, outputs: list[Output]) -> None: ...
    async def queue_stats(self) -> QueueStats: ...

    async def wait_for_work(self, seconds: float) -> None:
        """Return when a job may have been added, or after ``seconds``."""
        ...

    async def purge(self, finished_before: float) -> list[str]:
        """Forget final jobs last updated before ``finished_before``, and analyses made before it
        that no remaining job refers to; the SHA-256 of those analyses. Their covers are queued
        for deletion in the same transaction (``delete_purged_covers``)."""
        ...

    async def note_content(self, owner: str, job_ids: list[str], sha256: str) -> set[str]:
        """The held jobs are answered from the content ``sha256`` (called before its analyses are
        read or any cover of it is written): from then on a deletion of its covers waits for
        them, and one under way is finished first. The ids of the jobs still held."""
        ...

    async def delete_purged_covers(self, delete: Callable[[str], Awaitable[None]]) -> CoversRound:
        """Look at up to ``DELETIONS_PER_ROUND`` contents queued by ``purge``: ``delete(sha256)``
        the covers of each that nothing refers to any more, and forget those kept again (an
        analysis of the content is kept). A content a job refers to waits, and so does one whose
        deletion failed, or one another front door is deleting. What the round did;
        ``delete_all_purged_covers`` works the whole queue through."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class CoversRound:
    """What one round of ``delete_purged_covers`` did."""

    full: bool  # it found ``DELETIONS_PER_ROUND`` contents to look at: more may be queued
    settled: int  # contents it took off the queue: their covers deleted, or kept again
    deleted: int  # contents whose covers it deleted


async def delete_all_purged_covers(
    store: JobStore, delete: Callable[[str], Awaitable[None]]
) -> int:
    """Rounds of ``store.delete_purged_covers`` for as long as a round finds a full batch and
    takes something off the queue; how many contents' covers were deleted. Neither a round of
    contents kept again, which deletes nothing, nor one that shares its batch with another front
    door ends the work early; a batch that only waits (every deletion failing) does."""
    deleted = 0
    while True:
        outcome = await store.delete_purged_covers(delete)
        deleted += outcome.deleted
        if not (outcome.full and outcome.settled):
            return deleted


async def covers_deleted(delete: Callable[[str], Awaitable[None]], sha256: str) -> bool:
    """``delete(sha256)``; False when it failed (object storage away for a moment, say): the
    content stays queued for the next round, and the others are still looked at."""
    try:
        await delete(sha256)
    except Exception:
        log.warning(
            "covers not deleted; tried again later", exc_info=True, extra={"sha256": sha256}
        )
        return False
    return True


def answer_status(answer: Output) -> JobStatus:
    return JobStatus.PROCESS_FAILED if answer.error_code else JobStatus.PROCESS_SUCCESS


DELETIONS_PER_ROUND = 100  # queued contents one housekeeping round looks at, at most
EXHAUSTED_MESSAGE = "The job was not finished in {attempts} attempts: its worker stopped each time."
