"""An S3 client for S3-compatible object storage (AWS S3, OSS, MinIO, SeaweedFS), built from the
S3 settings in one way for every part that stores objects: the pipeline's durable covers and the
engine's cover store."""

from __future__ import annotations

from typing import Any

from videorecog.settings import S3Settings


def s3_client(s3: S3Settings, *, attempts: int) -> Any:
    """aiobotocore's client, an async context manager (it has no static type).

    Imported here: aiobotocore takes about a second to import, which a process that stores no
    objects should not pay at start-up.
    """
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    config = AioConfig(
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": attempts, "mode": "standard"},
        s3={"addressing_style": s3.addressing_style},
        # Only what PutObject requires: the default CRC trailers (aws-chunked bodies) are refused
        # by several S3-compatible stores. Content-MD5 is sent instead.
        request_checksum_calculation="when_required",
        # Presigned links in Signature Version 4, which every S3-compatible store accepts.
        signature_version="s3v4",
    )
    return get_session().create_client(
        "s3",
        endpoint_url=s3.endpoint_url or None,
        region_name=s3.region or None,
        # Empty: botocore's default chain (web identity, instance profile, ...).
        aws_access_key_id=s3.access_key_id or None,
        aws_secret_access_key=s3.secret_access_key.reveal() or None,
        config=config,
    )
