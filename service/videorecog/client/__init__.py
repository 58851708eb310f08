"""The signed aiohttp client of the videorecog API."""

from videorecog.client.api_client import JobResult, VideorecogClient
from videorecog.client.signing import PreparedRequest, sign_acs3, sign_v1

__all__ = ["JobResult", "PreparedRequest", "VideorecogClient", "sign_acs3", "sign_v1"]
