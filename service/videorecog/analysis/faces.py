"""Faces, for cover scoring: OpenCV's bundled frontal-face Haar cascade (nothing downloaded)."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import numpy.typing as npt

MIN_FACE_PIXELS = 24  # the cascade's own window; smaller faces are not worth a cover anyway


@functools.cache
def _cascade() -> cv2.CascadeClassifier:
    # Loaded once per process (analysis runs in worker processes).
    data_dir: str = cv2.data.haarcascades  # type: ignore[attr-defined]  # present in 4.x wheels
    return cv2.CascadeClassifier(f"{data_dir}haarcascade_frontalface_default.xml")


def largest_face(rgb: npt.NDArray[np.uint8], max_width: int | None = None) -> float:
    """Area of the largest frontal face as a fraction of the picture (0 when there is none),
    looked for in the picture shrunk to ``max_width`` when it is wider (faces too small to see
    there are too small for a cover, and the cascade's time grows with the pixels)."""
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    height, width = gray.shape
    if max_width is not None and width > max_width:
        size = (max_width, max(2, round(height * max_width / width)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    found = _cascade().detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(MIN_FACE_PIXELS, MIN_FACE_PIXELS)
    )
    if len(found) == 0:
        return 0.0
    return float(max(w * h for _, _, w, h in found)) / float(gray.shape[0] * gray.shape[1])
