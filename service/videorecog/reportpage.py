"""The storyboard as one self-contained HTML page (see ``report.py``).

Pictures are inlined as data URIs and the style and the one small script are in the page, so it
needs nothing from anywhere else. The script marks the page once every picture has decoded
(``data-images="decoded"`` on ``<body>``, or ``"broken"``), which a test reads from the rendered
DOM.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

from PIL import Image as PILImage

from videorecog.report import shot_span, signal_points
from videorecog.shotlist import timestamp

if TYPE_CHECKING:
    from videorecog.analysis.covers import Image
    from videorecog.report import Board, ShotView

TIMELINE_WIDTH = 1000  # SVG user units; the strip scales to the page
STRIP_HEIGHT = 28
SIGNAL_HEIGHT = 64
COVER_WIDTH = 320
JPEG_QUALITY = 82
SHOT_COLOURS = ("#4e79a7", "#f28e2b")

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { margin-bottom: 0.2em; }
svg { width: 100%; height: auto; display: block; }
.covers, .stills { display: flex; flex-wrap: wrap; gap: 0.8em; }
figure { margin: 0; }
figcaption { font-size: 0.85em; color: #555; font-variant-numeric: tabular-nums; }
.shot { border-top: 1px solid #ddd; padding: 0.8em 0; }
.shot h2 { font-size: 1em; margin: 0 0 0.4em; }
.still img { width: 240px; display: block; }
.cover img { width: 320px; display: block; }
"""

_SCRIPT = """
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const decoded = images.every((image) => image.complete && image.naturalWidth > 0);
  document.body.dataset.images = decoded ? "decoded" : "broken";
});
"""


def render(board: Board) -> str:
    shots = board.shots
    title = html.escape(f"{shots.name}: {len(shots.shots)} shots")
    facts = (
        f"{shots.frames} frames, {timestamp(shots.duration)}, {shots.fps:.3f} frames/s"
        if shots.shots
        else "no frames"
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{_STYLE}</style>
</head>
<body data-shots="{len(board.panels)}">
<h1>{title}</h1>
<p>{facts}</p>
<h2>Timeline</h2>
{_timeline(board)}
<p>Above: the shots, by frames. Below: each frame's cut score (its change over its neighbours',
log scale); the dashed line is where the detector sees a cut.</p>
<h2>Covers</h2>
<div class="covers">
{_covers(board)}
</div>
<h2>Shots</h2>
{chr(10).join(_shot(panel) for panel in board.panels)}
<script>{_SCRIPT}</script>
</body>
</html>
"""


def _timeline(board: Board) -> str:
    frames = board.shots.frames
    parts = []
    for shot in board.shots.shots:
        x, width = shot_span(shot, frames, TIMELINE_WIDTH)
        colour = SHOT_COLOURS[shot.number % 2]
        tip = html.escape(
            f"shot {shot.number}: frames {shot.start_frame}-{shot.end_frame - 1}, "
            f"{timestamp(shot.start)}-{timestamp(shot.end)}"
        )
        parts.append(
            f'<rect class="span" x="{x:.2f}" y="0" width="{width:.2f}" height="{STRIP_HEIGHT}" '
            f'fill="{colour}"><title>{tip}</title></rect>'
        )
    points, threshold = signal_points(board.signal, board.cut_score, TIMELINE_WIDTH, SIGNAL_HEIGHT)
    top = STRIP_HEIGHT + 4
    line = " ".join(f"{x:.1f},{y + top:.1f}" for x, y in points)
    height = top + SIGNAL_HEIGHT
    return (
        f'<svg class="timeline" viewBox="0 0 {TIMELINE_WIDTH} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="shots and cut scores">'
        f"{''.join(parts)}"
        f'<rect x="0" y="{top}" width="{TIMELINE_WIDTH}" height="{SIGNAL_HEIGHT}" fill="#f4f4f4"/>'
        f'<line x1="0" x2="{TIMELINE_WIDTH}" y1="{threshold + top:.1f}" y2="{threshold + top:.1f}" '
        f'stroke="#c00" stroke-dasharray="4 3" stroke-width="1"/>'
        f'<polyline class="signal" points="{line}" fill="none" stroke="#222" stroke-width="1"/>'
        f"</svg>"
    )


def _covers(board: Board) -> str:
    figures = []
    for n, cover in enumerate(board.covers):
        with PILImage.open(cover.path) as picture:
            picture.thumbnail((COVER_WIDTH, COVER_WIDTH * 4))
            uri = _jpeg_uri(picture)
        figures.append(
            f'<figure class="cover"><img src="{uri}" alt="cover {n + 1}">'
            f"<figcaption>cover {n + 1}: confidence {cover.confidence:.2f}</figcaption></figure>"
        )
    if board.gif is not None:
        uri = "data:image/gif;base64," + base64.b64encode(board.gif.read_bytes()).decode()
        figures.append(
            f'<figure class="cover gif"><img src="{uri}" alt="GIF preview">'
            f"<figcaption>GIF preview</figcaption></figure>"
        )
    return "\n".join(figures) or "<p>No frame has visible content.</p>"


def _shot(panel: ShotView) -> str:
    shot = panel.shot
    stills = []
    for still in panel.stills:
        picture = (
            f'<img src="{_jpeg_uri(still.image)}" alt="shot {shot.number}, {still.name} frame">'
            if still.image is not None
            else ""
        )
        stills.append(
            f'<figure class="still" data-frame="{still.frame}">{picture}'
            f"<figcaption>{still.name}: frame {still.frame}, {still.timecode}</figcaption></figure>"
        )
    return (
        f'<section class="shot" id="shot-{shot.number}" data-start-frame="{shot.start_frame}" '
        f'data-end-frame="{shot.end_frame}">'
        f"<h2>Shot {shot.number}: frames {shot.start_frame}-{shot.end_frame - 1} "
        f"({shot.frames}), {timestamp(shot.start)} to {timestamp(shot.end)} "
        f"({timestamp(shot.duration)})</h2>"
        f'<div class="stills">{"".join(stills)}</div></section>'
    )


def _jpeg_uri(image: Image | PILImage.Image) -> str:
    picture = image if isinstance(image, PILImage.Image) else PILImage.fromarray(image)
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
