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


def largest_face(rgb: npt.NDArray[np.uint8]) -> float:
    """Area of the largest frontal face as a fraction of the picture (0 when there is none)."""
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    found = _cascade().detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(MIN_FACE_PIXELS, MIN_FACE_PIXELS)
    )
    if len(found) == 0:
        return 0.0
    return float(max(w * h for _, _, w, h in found)) / float(gray.shape[0] * gray.shape[1])
