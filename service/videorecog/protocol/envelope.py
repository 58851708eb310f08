"""Response bodies: JSON (default) or XML (``Format=XML``), success and error alike."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import orjson

JSON_CONTENT_TYPE = "application/json;charset=utf-8"
XML_CONTENT_TYPE = "text/xml;charset=utf-8"


def _to_xml(parent: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, list):
                for element in item:
                    _to_xml(ET.SubElement(parent, key), element)
            else:
                _to_xml(ET.SubElement(parent, key), item)
    elif isinstance(value, bool):
        parent.text = "true" if value else "false"
    elif value is not None:
        parent.text = str(value)


def render(root: str, body: dict[str, Any], fmt: str) -> tuple[bytes, str]:
    """Encode ``body`` as JSON, or as XML under ``<root>``. Returns (bytes, content type)."""
    if fmt.upper() == "XML":
        element = ET.Element(root)
        _to_xml(element, body)
        xml = ET.tostring(element, encoding="unicode")
        return f"<?xml version='1.0' encoding='UTF-8'?>{xml}".encode(), XML_CONTENT_TYPE
    return orjson.dumps(body), JSON_CONTENT_TYPE


def error_body(request_id: str, host_id: str, code: str, message: str) -> dict[str, str]:
    return {"RequestId": request_id, "HostId": host_id, "Code": code, "Message": message}


def parse(data: bytes, content_type: str) -> dict[str, Any]:
    """Decode a JSON or XML body into a dict (XML: the root's children).

    Raises:
        ValueError: if the body is neither.
    """
    if "xml" in content_type.lower():
        root = ET.fromstring(data)  # noqa: S314  (only our own server's or the cloud's answers)
        return {child.tag: _from_xml(child) for child in root}
    value = orjson.loads(data)
    if not isinstance(value, dict):
        raise ValueError("response body is not a JSON object")
    return value


def _from_xml(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    return {child.tag: _from_xml(child) for child in children}
