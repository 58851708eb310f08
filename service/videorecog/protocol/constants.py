"""Names of the videorecog API, version 2020-03-20."""

from __future__ import annotations

from enum import StrEnum

API_VERSION = "2020-03-20"


class Action(StrEnum):
    DETECT_VIDEO_SHOT = "DetectVideoShot"
    GENERATE_VIDEO_COVER = "GenerateVideoCover"
    GET_ASYNC_JOB_RESULT = "GetAsyncJobResult"


class JobStatus(StrEnum):
    QUEUING = "QUEUING"
    PROCESSING = "PROCESSING"
    PROCESS_SUCCESS = "PROCESS_SUCCESS"
    PROCESS_FAILED = "PROCESS_FAILED"
    TIMEOUT_FAILED = "TIMEOUT_FAILED"
    LIMIT_RETRY_FAILED = "LIMIT_RETRY_FAILED"
    # Known to the platform's job-management API (a queued job cancelled); final for clients.
    JOB_CANCELED = "JOB_CANCELED"

    @property
    def is_final(self) -> bool:
        return self not in (JobStatus.QUEUING, JobStatus.PROCESSING)


# Signature v1 common parameters.
SIGNATURE_METHOD_V1 = "HMAC-SHA1"
SIGNATURE_VERSION_V1 = "1.0"
# ACS3
ACS3_ALGORITHM = "ACS3-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
