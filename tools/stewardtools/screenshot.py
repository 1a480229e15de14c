"""Render a report HTML file to PNG with headless Chromium, and read back simple pixel facts.

Chromium is optional (Debian package ``chromium``): :func:`screenshot` returns False when it is
absent so the demo can skip PNGs. The flags keep Chromium off the network entirely (the reports
need none) and give every run a fresh profile.

:func:`png_stats` decodes a PNG with ``zlib`` and ``struct`` only (no imaging library) so tests
and the demo can check that a screenshot is not blank.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess  # nosec B404 - runs the local chromium binary with fixed arguments
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")

MAX_HEIGHT = 16000

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--mute-audio",
)


def find_chromium() -> str | None:
    """The Chromium binary: ``$STEWARD_CHROMIUM`` or a standard location, or None."""
    configured = os.environ.get("STEWARD_CHROMIUM")
    if configured and Path(configured).is_file():
        return configured
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def _run_chromium(args: list[str], timeout: float) -> subprocess.CompletedProcess[bytes] | None:
    binary = find_chromium()
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(prefix="steward-chromium-") as profile:
        command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(  # noqa: S603  # nosec B603 - fixed binary and flags, paths from the caller
            command, capture_output=True, timeout=timeout, check=False
        )


def screenshot(
    html_path: Path,
    png_path: Path,
    width: int = 1280,
    height: int | None = None,
    *,
    timeout: float = 90.0,
) -> bool:
    """Write a PNG of the page; False if Chromium is missing or failed.

    ``height`` None takes the whole page: Chromium renders into a generously tall window and
    the empty rows below the content are trimmed. An int takes exactly that viewport.
    """
    html_path = Path(html_path).resolve()
    png_path = Path(png_path).resolve()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.unlink(missing_ok=True)
    full_page = height is None
    if height is None:
        try:
            estimate = content_height(html_path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            estimate = 2000
        height = max(1200, min(int(estimate * 1.8), MAX_HEIGHT))
    result = _run_chromium(
        [f"--screenshot={png_path}", f"--window-size={int(width)},{int(height)}", html_path.as_uri()],
        timeout,
    )
    ok = result is not None and result.returncode == 0 and png_path.is_file() and png_path.stat().st_size > 0
    if ok and full_page:
        trim_png_bottom(png_path)
    return ok


def dump_dom(html_path: Path, *, timeout: float = 90.0) -> str | None:
    """The DOM Chromium built from the page (serialised), or None if Chromium is missing."""
    result = _run_chromium(["--dump-dom", Path(html_path).resolve().as_uri()], timeout)
    if result is None or result.returncode != 0:
        return None
    return result.stdout.decode("utf-8", errors="replace")


def content_height(html: str, default: int = 2000) -> int:
    """A rough page height in pixels from the amount of content (no browser); errs high."""
    if not html:
        return default
    rows = html.count("<tr")
    cards = html.count('class="card"')
    charts = html.count("<svg")
    items = html.count("<li") + html.count("<dt")
    estimate = 420 + rows * 60 + cards * 90 + charts * 12 + items * 26
    return max(900, min(estimate, MAX_HEIGHT))


# ---------------------------------------------------------------------------------------------
# PNG decoding (zlib + struct only)


@dataclass(frozen=True)
class PngStats:
    width: int
    height: int
    distinct_colours: int
    non_white_share: float  # share of pixels clearly darker than white (some channel < 235): ink
    non_background_share: float  # share of pixels differing from the most common colour


_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


@dataclass(frozen=True)
class DecodedPng:
    width: int
    height: int
    colour_type: int
    bytes_per_pixel: int
    rows: list[bytearray]  # unfiltered scanlines
    palette: bytes = b""


def decode_png(path: Path) -> DecodedPng:
    """Decode an 8-bit, non-interlaced PNG (any filter) into unfiltered scanlines.

    Raises ValueError for a file that is not a PNG or uses a form this decoder does not read
    (16-bit, interlaced, palette without PLTE).
    """
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    pos, idat, palette = 8, [], b""
    width = height = bit_depth = colour_type = interlace = -1
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, bit_depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if width <= 0 or bit_depth != 8 or interlace != 0 or colour_type not in _CHANNELS:
        raise ValueError(f"unsupported PNG form (depth {bit_depth}, colour type {colour_type}, interlace)")
    if colour_type == 3 and not palette:
        raise ValueError("palette PNG without PLTE")
    bpp = _CHANNELS[colour_type]
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    if len(raw) < height * (stride + 1):
        raise ValueError("truncated PNG data")
    rows: list[bytearray] = []
    prior = bytearray(stride)
    for row in range(height):
        start = row * (stride + 1)
        prior = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), prior, bpp)
        rows.append(prior)
    return DecodedPng(width, height, colour_type, bpp, rows, palette)


_MAGNITUDE = bytes(min(b, 256 - b) for b in range(256))


def encode_png(image: DecodedPng) -> bytes:
    """Encode scanlines as a PNG, choosing per row the "sub" or "up" filter that leaves the
    smallest residuals (whole-row integer arithmetic: no per-byte Python loop)."""
    stride = image.width * image.bytes_per_pixel
    bpp = image.bytes_per_pixel
    parts = []
    prior = bytearray(stride)
    for line in image.rows:
        up = _subtract_bytes(line, prior)
        sub = _subtract_bytes(line, bytes(bpp) + bytes(line[:-bpp]))
        if sum(sub.translate(_MAGNITUDE)) < sum(up.translate(_MAGNITUDE)):
            parts.append(b"\x01" + sub)
        else:
            parts.append(b"\x02" + up)
        prior = line
    compressed = zlib.compress(b"".join(parts), 9)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", image.width, image.height, 8, image.colour_type, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    if image.colour_type == 3:
        out += chunk(b"PLTE", image.palette)
    return out + chunk(b"IDAT", compressed) + chunk(b"IEND", b"")


def trim_png_bottom(path: Path, *, margin: int = 24) -> int:
    """Cut the rows below the last row of content (rows equal to the bottom row); returns the height."""
    image = decode_png(path)
    background = image.rows[-1]
    last = image.height - 1
    while last > 0 and image.rows[last] == background:
        last -= 1
    keep = min(image.height, last + 1 + margin)
    if keep < image.height:
        trimmed = DecodedPng(
            image.width, keep, image.colour_type, image.bytes_per_pixel, image.rows[:keep], image.palette
        )
        Path(path).write_bytes(encode_png(trimmed))
    return keep


def png_stats(path: Path, *, sample_every: int = 3) -> PngStats:
    """Colour facts of a PNG, counted on every ``sample_every``-th pixel of every ``sample_every``-th row."""
    image = decode_png(path)
    bpp = image.bytes_per_pixel
    colours: dict[bytes, int] = {}
    for line in image.rows[::sample_every]:
        for offset in range(0, len(line), bpp * sample_every):
            pixel = bytes(line[offset : offset + bpp])
            colours[pixel] = colours.get(pixel, 0) + 1
    total = sum(colours.values()) or 1
    palette = image.palette

    def rgb(pixel: bytes) -> tuple[int, int, int]:
        if image.colour_type == 3:
            i = pixel[0] * 3
            return palette[i], palette[i + 1], palette[i + 2]
        if image.colour_type in (0, 4):
            return pixel[0], pixel[0], pixel[0]
        return pixel[0], pixel[1], pixel[2]

    non_white = sum(n for p, n in colours.items() if min(rgb(p)) < 235)
    most_common = max(colours.values()) if colours else 0
    return PngStats(
        width=image.width,
        height=image.height,
        distinct_colours=len(colours),
        non_white_share=non_white / total,
        non_background_share=1 - most_common / total,
    )


def _subtract_bytes(line: bytes | bytearray, prior: bytes | bytearray) -> bytes:
    """(line - prior) mod 256 per byte, on whole-row integers (the PNG "up" filter)."""
    n = len(line)
    a = int.from_bytes(line, "big")
    b = int.from_bytes(prior, "big")
    high = int.from_bytes(b"\x80" * n, "big")
    low = int.from_bytes(b"\x7f" * n, "big")
    diff = ((a | high) - (b & low)) ^ ((a ^ ~b) & high)
    return (diff & ((1 << (8 * n)) - 1)).to_bytes(n, "big")


def _unfilter(kind: int, line: bytearray, prior: bytearray, bpp: int) -> bytearray:
    """Undo one scanline's PNG filter (0 none, 1 sub, 2 up, 3 average, 4 Paeth)."""
    n = len(line)
    if kind == 0:
        return line
    if kind == 2:
        # bytewise add without carries across bytes, on whole-row integers
        a = int.from_bytes(line, "big")
        b = int.from_bytes(prior, "big")
        low = int.from_bytes(b"\x7f" * n, "big")
        high = int.from_bytes(b"\x80" * n, "big")
        total = ((a & low) + (b & low)) ^ ((a ^ b) & high)
        return bytearray(total.to_bytes(n, "big"))
    if kind == 1:
        for i in range(bpp, n):
            line[i] = (line[i] + line[i - bpp]) & 0xFF
        return line
    if kind == 3:
        for i in range(n):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prior[i]) >> 1)) & 0xFF
        return line
    if kind == 4:
        for i in range(n):
            if i >= bpp:
                a, c = line[i - bpp], prior[i - bpp]
            else:
                a = c = 0
            b = prior[i]
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            if pa <= pb and pa <= pc:
                line[i] = (line[i] + a) & 0xFF
            elif pb <= pc:
                line[i] = (line[i] + b) & 0xFF
            else:
                line[i] = (line[i] + c) & 0xFF
        return line
    raise ValueError(f"unknown PNG filter type {kind}")
