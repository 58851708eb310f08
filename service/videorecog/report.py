"""A storyboard of a video's shots: ``videorecog report``.

One HTML page (``<name>-report.html``) with a picture of each shot, its middle frame, as a JPEG
beside it (``<name>-shot-NNN.jpg``), and its number, frames, start, end and length. The page
refers to the pictures by relative links, so the directory can be moved or served as it is.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from PIL import Image as PILImage

from videorecog.analysis import decode
from videorecog.shotlist import ShotList, timestamp

THUMBNAIL_WIDTH = 320
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Report:
    page: Path
    pictures: list[Path]


def write_report(path: str, shots: ShotList, origin: float, out_dir: Path) -> Report:
    """Write the storyboard of ``shots`` (of the video at ``path``, whose first frame is at
    ``origin`` seconds of the stream's clock) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    middles = [origin + (s.start + s.end) / 2 for s in shots.shots]
    images = decode.frame_at_times(path, middles, width=THUMBNAIL_WIDTH)
    pictures: list[Path | None] = []
    for shot, middle in zip(shots.shots, middles, strict=True):
        image = images.get(middle)
        if image is None:
            pictures.append(None)
            continue
        picture = out_dir / f"{shots.name}-shot-{shot.number:03d}.jpg"
        PILImage.fromarray(image).save(picture, format="JPEG", quality=JPEG_QUALITY)
        pictures.append(picture)
    page = out_dir / f"{shots.name}-report.html"
    page.write_text(_page(shots, pictures), encoding="utf-8")
    return Report(page, [p for p in pictures if p is not None])


def _page(shots: ShotList, pictures: list[Path | None]) -> str:
    title = html.escape(f"{shots.name}: {len(shots.shots)} shots")
    rows = []
    for shot, picture in zip(shots.shots, pictures, strict=True):
        image = (
            f'<img src="{html.escape(picture.name)}" alt="shot {shot.number}" loading="lazy">'
            if picture is not None
            else ""
        )
        rows.append(
            f'<tr id="shot-{shot.number}"><td>{image}</td><td>{shot.number}</td>'
            f"<td>{shot.start_frame}-{shot.end_frame - 1}</td><td>{shot.frames}</td>"
            f"<td>{timestamp(shot.start)}</td><td>{timestamp(shot.end)}</td>"
            f"<td>{timestamp(shot.duration)}</td></tr>"
        )
    duration = timestamp(shots.duration)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: 0.3em 0.8em; border-bottom: 1px solid #ddd; text-align: right; }}
img {{ display: block; width: {THUMBNAIL_WIDTH}px; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{shots.frames} frames, {duration}, {shots.fps:.3f} frames/s</p>
<table>
<thead><tr><th>picture</th><th>shot</th><th>frames</th><th>length (frames)</th><th>start</th>
<th>end</th><th>length</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</body>
</html>
"""
