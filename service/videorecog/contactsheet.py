"""The storyboard as one PNG contact sheet (see ``report.py``): the timeline strip and the cut
scores, the covers and a frame of the GIF preview, then one row per shot with its first, middle
and last frames."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from videorecog.report import shot_span, signal_points
from videorecog.shotlist import timestamp

if TYPE_CHECKING:
    from videorecog.report import Board

MARGIN = 16
GAP = 8
THUMB_WIDTH = 160
LABEL_WIDTH = 200
LINE = 14  # pixels per line of text
STRIP_HEIGHT = 24
SIGNAL_HEIGHT = 48
BACKGROUND = (255, 255, 255)
INK = (34, 34, 34)
SHOT_COLOURS = ((78, 121, 167), (242, 142, 43))


def render(board: Board) -> PILImage.Image:
    shots = board.shots
    aspect = _aspect(board)
    thumb = (THUMB_WIDTH, max(1, round(THUMB_WIDTH * aspect)))
    width = 2 * MARGIN + LABEL_WIDTH + 3 * (thumb[0] + GAP)
    row = thumb[1] + LINE + GAP
    covers = len(board.covers) + (board.gif is not None)
    per_row = max(1, (width - 2 * MARGIN) // (thumb[0] + GAP))
    cover_rows = -(-covers // per_row)
    height = (
        MARGIN
        + 2 * LINE
        + STRIP_HEIGHT
        + SIGNAL_HEIGHT
        + 2 * GAP
        + cover_rows * row
        + GAP
        + len(board.panels) * row
        + MARGIN
    )
    sheet = PILImage.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    y = MARGIN
    draw.text(
        (MARGIN, y),
        f"{shots.name}: {len(shots.shots)} shots, {shots.frames} frames, "
        f"{timestamp(shots.duration)}",
        fill=INK,
        font=font,
    )
    y += 2 * LINE
    y = _timeline(draw, board, y, width - 2 * MARGIN) + GAP
    x = MARGIN
    tiles = [(c.path, f"cover: confidence {c.confidence:.2f}") for c in board.covers]
    if board.gif is not None:
        tiles.append((board.gif, "GIF preview (a frame)"))
    for n, (path, caption) in enumerate(tiles):
        if n and n % per_row == 0:
            x, y = MARGIN, y + row
        with PILImage.open(path) as picture:
            picture.seek(getattr(picture, "n_frames", 1) // 2)
            tile = picture.convert("RGB")
        tile.thumbnail(thumb)  # covers are cropped to the picture: their own aspect
        sheet.paste(tile, (x, y))
        draw.text((x, y + thumb[1] + 1), caption, fill=INK, font=font)
        x += thumb[0] + GAP
    y += (row if tiles else 0) + GAP
    for panel in board.panels:
        shot = panel.shot
        label = (
            f"shot {shot.number}\nframes {shot.start_frame}-{shot.end_frame - 1}\n"
            f"{timestamp(shot.start)}\nto {timestamp(shot.end)}"
        )
        draw.multiline_text((MARGIN, y), label, fill=INK, font=font, spacing=2)
        x = MARGIN + LABEL_WIDTH
        for still in panel.stills:
            if still.image is not None:
                sheet.paste(PILImage.fromarray(still.image).resize(thumb), (x, y))
            draw.text((x, y + thumb[1] + 1), f"{still.name} {still.timecode}", fill=INK, font=font)
            x += thumb[0] + GAP
        y += row
    return sheet


def _aspect(board: Board) -> float:
    """Height over width of the stills (16:9 when none decoded)."""
    for panel in board.panels:
        for still in panel.stills:
            if still.image is not None:
                return float(still.image.shape[0] / still.image.shape[1])
    return 9 / 16


def _timeline(draw: ImageDraw.ImageDraw, board: Board, top: int, width: int) -> int:
    """Draw the strip and the signal under it; return the y below them."""
    for shot in board.shots.shots:
        x, span = shot_span(shot, board.shots.frames, width)
        colour = SHOT_COLOURS[shot.number % 2]
        draw.rectangle(
            (MARGIN + x, top, MARGIN + x + max(span, 1) - 1, top + STRIP_HEIGHT), fill=colour
        )
    below = top + STRIP_HEIGHT + 4
    draw.rectangle((MARGIN, below, MARGIN + width, below + SIGNAL_HEIGHT), fill=(244, 244, 244))
    points, threshold = signal_points(board.signal, board.cut_score, width, SIGNAL_HEIGHT)
    draw.line(
        (MARGIN, below + threshold, MARGIN + width, below + threshold), fill=(204, 0, 0), width=1
    )
    if len(points) > 1:
        draw.line([(MARGIN + x, below + y) for x, y in points], fill=INK, width=1)
    return below + SIGNAL_HEIGHT
