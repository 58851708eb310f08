from __future__ import annotations

import pytest

from videorecog.pipeline.quota import action_rates, gcra_quota
from videorecog.protocol.constants import Action
from videorecog.settings import load


@pytest.mark.parametrize("rate", [2.0, 0.5, 2.5, 20.0, 1 / 3])
def test_gcra_quota_spaces_requests_by_the_rate(rate: float) -> None:
    """Any rate, fractional ones too, becomes whole requests over whole seconds with the same
    spacing between requests and a burst of one."""
    quota = gcra_quota(rate)
    assert quota.emission_interval == pytest.approx(1 / rate, rel=1e-3)
    assert quota.burst == 1


def test_submissions_and_polls_have_their_own_budgets() -> None:
    """Each submission action gets VIDEORECOG_API_RATE_LIMIT, polls VIDEORECOG_POLL_RATE_LIMIT."""
    settings = load({"VIDEORECOG_API_RATE_LIMIT": "3", "VIDEORECOG_POLL_RATE_LIMIT": "40"})
    assert action_rates(settings) == {
        Action.DETECT_VIDEO_SHOT: 3.0,
        Action.GENERATE_VIDEO_COVER: 3.0,
        Action.GET_ASYNC_JOB_RESULT: 40.0,
    }
