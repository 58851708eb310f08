"""Start-up refuses a role that could not work, with one message naming the setting."""

from __future__ import annotations

import pytest

from videorecog.engine.app import Role
from videorecog.engine.server import check
from videorecog.settings import SettingsError, load

BASE = {"VIDEORECOG_ENGINE_CREDENTIALS": "ak:sk"}
SHARED = {**BASE, "VIDEORECOG_ENGINE_STORE_URL": "postgresql://db:5432/engine"}


def test_a_worker_needs_the_shared_store() -> None:
    with pytest.raises(SettingsError, match="VIDEORECOG_ENGINE_STORE_URL"):
        check(load(BASE), Role.WORKER)


@pytest.mark.parametrize("role", [Role.API, Role.WORKER])
def test_shared_roles_need_the_cover_store(role: Role) -> None:
    with pytest.raises(SettingsError, match="VIDEORECOG_ENGINE_COVER_STORE_URL"):
        check(load(SHARED), role)
    check(load({**SHARED, "VIDEORECOG_ENGINE_COVER_STORE_URL": "s3://covers/engine"}), role)


def test_embedded_needs_neither() -> None:
    check(load(BASE), Role.EMBEDDED)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VIDEORECOG_ENGINE_STORE_URL", "mysql://db/engine"),
        ("VIDEORECOG_ENGINE_STORE_URL", "postgresql://db:5432"),
        ("VIDEORECOG_ENGINE_COVER_STORE_URL", "https://bucket/covers"),
        ("VIDEORECOG_ENGINE_LEASE_SECONDS", "0"),
        ("VIDEORECOG_ENGINE_MAX_ATTEMPTS", "none"),
    ],
)
def test_a_bad_value_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load({**BASE, name: value})
