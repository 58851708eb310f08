"""The stores the suite runs against answer, each test with a place of its own."""

from __future__ import annotations

import uuid

import aiobotocore.session
import psycopg
import pytest
import redis.asyncio as aioredis

from tests import stores
from tests.stores import S3Location


def test_postgres_database_is_new_and_writable(postgres_url: str) -> None:
    """The run's database starts empty and takes a table."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        conn.execute("CREATE TABLE IF NOT EXISTS probe (id int)")
    assert tables is not None


def test_private_postgres_starts_on_a_free_port(request: pytest.FixtureRequest) -> None:
    """On a machine without PostgreSQL the suite starts its own: a database is made on it here."""
    if stores.pg_ctl() is None:
        pytest.skip("PostgreSQL is not installed (the Makefile installs it)")
    server = request.getfixturevalue("private_postgresql")
    with (
        stores.new_database(server.url) as url,
        psycopg.connect(url) as conn,
    ):
        assert conn.execute("SELECT 1").fetchone() == (1,)


async def test_redis_answers(redis_url: str, redis_prefix: str) -> None:
    """Redis keeps a key under the test's prefix."""
    client = aioredis.from_url(redis_url)
    try:
        await client.set(f"{redis_prefix}:k", b"v", ex=30)
        assert await client.get(f"{redis_prefix}:k") == b"v"
    finally:
        await client.aclose()


def test_private_redis_starts_on_a_free_port(request: pytest.FixtureRequest) -> None:
    """On a machine without Redis the suite starts its own: the private server works here too."""
    if stores.redis_server() is None:
        pytest.skip("redis-server is not installed (the Makefile installs it)")
    server = request.getfixturevalue("private_redis")
    assert stores.answers(server.host, server.port)


async def test_s3_bucket_round_trip(s3_bucket: S3Location) -> None:
    """An object written to the test's bucket reads back the same."""
    body = uuid.uuid4().bytes
    session = aiobotocore.session.get_session()
    async with session.create_client(
        "s3",
        endpoint_url=s3_bucket.endpoint_url,
        aws_access_key_id=s3_bucket.access_key_id,
        aws_secret_access_key=s3_bucket.secret_access_key,
        region_name=s3_bucket.region,
    ) as client:
        await client.put_object(Bucket=s3_bucket.bucket, Key="a/b.bin", Body=body)
        got = await client.get_object(Bucket=s3_bucket.bucket, Key="a/b.bin")
        async with got["Body"] as stream:
            assert await stream.read() == body
