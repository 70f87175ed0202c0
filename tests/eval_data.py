"""Evaluation sets made locally, and the decoders that read them back (issue 11).

Generators (deterministic by seed, each writing its files into ``folder`` and returning cases)::

    make_shapes(folder, n=200, size=(256, 256), seed=0, jpeg_kb=None)   # one filled shape per image
    make_tone_clips(folder, n=50, seed=0)                                # DTMF digits, WAV 16 kHz mono
    write_zip(cases, zip_path, manifest="csv" | "jsonl")                 # media + manifest, for import

A shape image is one filled circle, square, triangle or star (axis-aligned, never rotated) in one of
six named colours on a light plain or lightly noisy background; its label is ``"red circle"``. A
tone clip is 3-6 digits, each a DTMF tone pair (150 ms tone + 50 ms silence); its transcript is the
digit words, ``"three one four"``. Tones need no speech synthesiser, and the decoder is exact.

Decoders (what tests/provider_server.py's ``see`` / ``hear`` behaviours answer from)::

    read_shape(raw) -> ("red", "circle") | None     # PNG/JPEG/WebP/GIF bytes, any size
    read_tones(raw) -> ["3", "1", "4"] | None       # WAV (8/16/32-bit PCM, any rate and channels); MP3 etc. via PyAV

How ``read_shape`` decides: the image is shrunk to about 64-128 px (a JPEG is decoded at 1/2-1/8
scale by ``Image.draft``, so a 1 MB photo costs a few ms); the background is the median of the
border; a pixel is the shape when one channel differs from the background by more than half the
shape's contrast. The colour is the mean of the shape's core pixels, named by the nearest of
:data:`COLOURS`; the shape is the fill ratio of its bounding box (star 0.33, triangle 0.5, circle
0.785, square 1.0), robust to JPEG, noise and resizing because all four are axis-aligned.
``read_tones`` cuts the clip into tone bursts by 10 ms energy and names each burst by the strongest
low and high DTMF frequency (Goertzel), after decimating to about 8 kHz; a burst whose energy is not
mostly at those two frequencies is "?" (not a digit).
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import wave
import zipfile
from array import array
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageStat

__all__ = [
    "COLOURS", "SHAPES", "DIGIT_WORDS", "Case", "make_shapes", "make_tone_clips", "write_zip",
    "read_shape", "read_tones", "digits_to_words", "shape_label", "shape_labels",
]  # fmt: skip

# Far apart in RGB, each far from every background; the confusable neighbours feed wrong answers.
COLOURS = {
    "red": (210, 40, 40),
    "orange": (240, 140, 30),
    "yellow": (235, 205, 35),
    "green": (40, 150, 60),
    "blue": (40, 80, 210),
    "purple": (130, 60, 170),
}
SHAPES = ("circle", "square", "triangle", "star")
BACKGROUNDS = {"white": (250, 250, 250), "grey": (225, 225, 225), "cream": (245, 240, 220)}
# Fill ratio of the bounding box -> shape: star 0.33 | triangle 0.5 | circle 0.785 | square 1.0
_RATIO_CUTS = ((0.41, "star"), (0.64, "triangle"), (0.90, "circle"), (9.0, "square"))

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DTMF_LOW = (697, 770, 852, 941)
DTMF_HIGH = (1209, 1336, 1477)
DTMF = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209), "5": (770, 1336),
        "6": (770, 1477), "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "0": (941, 1336)}  # fmt: skip
_BY_PAIR = {pair: digit for digit, pair in DTMF.items()}
TONE_S, GAP_S, LEAD_S, RATE = 0.150, 0.050, 0.100, 16000


@dataclass
class Case:
    """One evaluation case: a media file and what a perfect model would answer."""

    path: Path
    expected: str
    kind: str  # the medium: "image" | "audio"
    fields: dict = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    expected_kind: str = "text"  # the set to import it into: "label" (shapes) or "text" (transcripts)

    @property
    def label(self) -> str:
        return self.expected

    @property
    def transcript(self) -> str:
        return self.expected


def shape_label(colour: str, shape: str) -> str:
    return f"{colour} {shape}"


def shape_labels() -> list[str]:
    """Every label a shape case can have (for a label set: "red circle", ... "purple star")."""
    return [shape_label(c, s) for c in COLOURS for s in SHAPES]


def digits_to_words(digits) -> str:
    return " ".join(DIGIT_WORDS[int(d)] for d in digits)


# --- images ----------------------------------------------------------------------------------------


def _shape_points(shape: str, x0: float, y0: float, s: float) -> list[tuple[float, float]] | None:
    """The polygon of ``shape`` in the box (x0, y0, x0+s, y0+s); None for the circle."""
    if shape == "triangle":
        return [(x0 + s / 2, y0), (x0 + s, y0 + s), (x0, y0 + s)]
    if shape == "star":
        # A five-pointed star, point up, scaled to fill the box's width and height exactly.
        pts = []
        for i in range(10):
            r = 1.0 if i % 2 == 0 else 0.382
            a = -math.pi / 2 + i * math.pi / 5
            pts.append((r * math.cos(a), r * math.sin(a)))
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        w, h = max(xs) - min(xs), max(ys) - min(ys)
        return [(x0 + (px - min(xs)) / w * s, y0 + (py - min(ys)) / h * s) for px, py in pts]
    return None


def _noise(rng: random.Random, size: tuple[int, int], amplitude: int) -> Image.Image:
    """Uniform RGB noise in [0, 2*amplitude], from ``rng`` (Pillow's effect_noise is not seedable)."""
    w, h = size
    return Image.frombytes("RGB", size, rng.randbytes(w * h * 3)).point(lambda v: v * (2 * amplitude) // 255)


def _draw_shape(rng: random.Random, size: tuple[int, int], colour: str, shape: str, bg: str, noise: int) -> Image.Image:
    w, h = size
    im = Image.new("RGB", size, BACKGROUNDS[bg])
    s = rng.uniform(0.35, 0.7) * min(w, h)
    margin = 0.06 * min(w, h)
    x0 = rng.uniform(margin, w - margin - s)
    y0 = rng.uniform(margin, h - margin - s)
    draw = ImageDraw.Draw(im)
    points = _shape_points(shape, x0, y0, s)
    if shape == "circle":
        draw.ellipse((x0, y0, x0 + s, y0 + s), fill=COLOURS[colour])
    elif shape == "square":
        draw.rectangle((x0, y0, x0 + s, y0 + s), fill=COLOURS[colour])
    else:
        draw.polygon(points, fill=COLOURS[colour])
    if noise:
        im = ImageChops.add(im, _noise(rng, size, noise), 1.0, -noise)
    return im


def _jpeg_size_for(kb: int) -> tuple[int, int]:
    """A 4:3 size whose noisy quality-92 JPEG is about ``kb`` KB (calibrated on one encode)."""
    probe = (800, 600)
    im = _draw_shape(random.Random(1), probe, "blue", "circle", "white", 24)
    got = len(_save(im, "JPEG", quality=92)) / 1024
    scale = math.sqrt(kb / got)
    return (round(probe[0] * scale / 8) * 8, round(probe[1] * scale / 8) * 8)


def _save(im: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def make_shapes(folder, n: int = 200, size: tuple[int, int] = (256, 256), seed: int = 0, jpeg_kb: int | None = None,
                fmt: str | None = None, quality: int = 90) -> list[Case]:  # fmt: skip
    """``n`` images of one filled shape each, cycling through every colour × shape so the classes are
    balanced. Half the backgrounds are lightly noisy. ``fmt``: "png" (the default) or "jpeg";
    ``jpeg_kb=1000`` makes ~1 MB noisy JPEGs (size chosen to fit, ``size`` ignored)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"shapes-{seed}")
    fmt = "jpeg" if jpeg_kb else (fmt or "png").lower()
    if jpeg_kb:
        size, quality = _jpeg_size_for(jpeg_kb), 92
    combos = [(c, s) for c in COLOURS for s in SHAPES]
    cases = []
    for i in range(n):
        if i % len(combos) == 0:
            rng.shuffle(combos)
        colour, shape = combos[i % len(combos)]
        bg = rng.choice(sorted(BACKGROUNDS))
        noise = 24 if jpeg_kb else rng.choice((0, 10))
        im = _draw_shape(rng, size, colour, shape, bg, noise)
        path = folder / f"shape-{i:04d}.{'jpg' if fmt == 'jpeg' else 'png'}"
        path.write_bytes(_save(im, "JPEG", quality=quality) if fmt == "jpeg" else _save(im, "PNG", compress_level=1))
        cases.append(Case(path, shape_label(colour, shape), "image",
                          {"colour": colour, "shape": shape, "background": bg},
                          [shape, "noisy" if noise else "plain"], "label"))  # fmt: skip
    return cases


def _reduced(raw: bytes, target: int = 64) -> Image.Image:
    """The image decoded at about ``target``..2*``target`` px on its shorter side, in RGB."""
    im = Image.open(io.BytesIO(raw))
    if im.format == "JPEG":
        im.draft("RGB", (target, target))  # DCT scaling: decodes 1/2..1/8 of the pixels
    im = im.convert("RGB")
    factor = min(im.size) // target
    if factor >= 2:
        im = im.reduce(factor)
    return im


def read_shape(raw: bytes) -> tuple[str, str] | None:
    """(colour, shape) of the one filled shape in ``raw``, or None when there is none to see."""
    try:
        im = _reduced(raw, 96)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    w, h = im.size
    if w < 8 or h < 8:
        return None
    edge = max(1, min(w, h) // 32)
    strips = [im.crop((0, 0, w, edge)), im.crop((0, h - edge, w, h)), im.crop((0, 0, edge, h)), im.crop((w - edge, 0, w, h))]
    medians = [ImageStat.Stat(s).median for s in strips]
    bg = tuple(sorted(m[ch] for m in medians)[1] for ch in range(3))
    diff = ImageChops.difference(im, Image.new("RGB", im.size, bg))
    r, g, b = diff.split()
    d = ImageChops.lighter(ImageChops.lighter(r, g), b)  # the largest channel difference per pixel
    hist = d.histogram()
    total = w * h
    # The shape's contrast: the 99th percentile of the differences.
    seen, contrast = 0, 0
    for value in range(255, -1, -1):
        seen += hist[value]
        if seen >= total * 0.01:
            contrast = value
            break
    if contrast < 60:
        return None
    mask = d.point(lambda v, t=contrast // 2: 255 if v > t else 0)
    box = mask.getbbox()
    if not box:
        return None
    inside = mask.crop(box).histogram()[255]
    area = (box[2] - box[0]) * (box[3] - box[1])
    if inside < 16:
        return None
    ratio = inside / area
    shape = next(name for cut, name in _RATIO_CUTS if ratio < cut)
    core = d.point(lambda v, t=contrast * 3 // 4: 255 if v > t else 0)
    mean = ImageStat.Stat(im, core).mean
    colour = min(COLOURS, key=lambda name: sum((a - b) ** 2 for a, b in zip(COLOURS[name], mean, strict=True)))
    return colour, shape


# --- audio -----------------------------------------------------------------------------------------


def tone_wav(digits: str, rate: int = RATE) -> bytes:
    """``digits`` as DTMF: 100 ms lead silence, then each digit 150 ms of its tone pair + 50 ms silence."""
    samples = array("h", bytes(2 * int(LEAD_S * rate)))
    tone_n, gap = int(TONE_S * rate), array("h", bytes(2 * int(GAP_S * rate)))
    for d in digits:
        lo, hi = DTMF[d]
        samples.extend(int(9000 * (math.sin(2 * math.pi * lo * t / rate) + math.sin(2 * math.pi * hi * t / rate)))
                       for t in range(tone_n))  # fmt: skip
        samples.extend(gap)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return buf.getvalue()


def make_tone_clips(folder, n: int = 50, seed: int = 0) -> list[Case]:
    """``n`` WAV clips of 3-6 DTMF digits; the transcript is the digit words."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"tones-{seed}")
    cases = []
    for i in range(n):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(3, 6)))
        path = folder / f"digits-{i:03d}.wav"
        path.write_bytes(tone_wav(digits))
        cases.append(Case(path, digits_to_words(digits), "audio", {"digits": digits}, [f"{len(digits)} digits"]))
    return cases


def _decoded_mono(raw: bytes) -> tuple[list[int], int] | None:
    """Any other audio (MP3, FLAC, Ogg... as an arm's variant makes it), through PyAV, at 8 kHz mono."""
    import av

    out = array("h")
    try:
        with av.open(io.BytesIO(raw)) as container:
            if not container.streams.audio:
                return None
            resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
            for frame in container.decode(container.streams.audio[0]):
                for f in resampler.resample(frame):
                    out.frombytes(bytes(f.planes[0])[: f.samples * 2])
            for f in resampler.resample(None):
                out.frombytes(bytes(f.planes[0])[: f.samples * 2])
    except (av.error.FFmpegError, ValueError, OSError):
        return None
    return list(out), 8000


def _pcm_mono(raw: bytes) -> tuple[list[int], int] | None:
    if raw[:4] != b"RIFF":
        return _decoded_mono(raw)
    try:
        with wave.open(io.BytesIO(raw), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError, ValueError):
        return _decoded_mono(raw)  # e.g. a float or extensible WAV the wave module refuses
    if width not in (1, 2, 4) or not rate:
        return None
    data = array({1: "B", 2: "h", 4: "i"}[width], frames[: len(frames) // width * width])
    step = max(1, rate // 8000)  # DTMF tops out at 1.6 kHz: about 8 kHz is plenty
    values = data[:: channels * step]
    if width == 1:
        values = [v - 128 for v in values]
    return list(values), rate // step


def _goertzel(x: list[int], freq: float, rate: int) -> float:
    k = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + k * s1 - s2, s1
    return s1 * s1 + s2 * s2 - k * s1 * s2


def read_tones(raw: bytes) -> list[str] | None:
    """The DTMF digits in an audio clip (WAV read directly; MP3 and the rest through PyAV), in order,
    or None when it is not readable audio."""
    decoded = _pcm_mono(raw)
    if decoded is None:
        return None
    x, rate = decoded
    win = max(1, rate // 100)  # 10 ms
    energy = [sum(v * v for v in x[i : i + win]) for i in range(0, len(x) - win + 1, win)]
    if not energy or max(energy) == 0:
        return []
    floor = max(energy) / 20
    runs, start = [], None
    for i, e in enumerate([*energy, 0]):
        if e > floor and start is None:
            start = i
        elif e <= floor and start is not None:
            if i - start >= 4:  # 40 ms at least: a tone, not a click
                runs.append((start, i))
            start = None
    digits = []
    for a, b in runs:
        seg = x[(a + 1) * win : (b - 1) * win]  # skip the edges' partial windows
        power = {f: _goertzel(seg, f, rate) for f in DTMF_LOW + DTMF_HIGH}
        lo, hi = max(DTMF_LOW, key=power.get), max(DTMF_HIGH, key=power.get)
        # Share of the burst's energy at each frequency (1.0 for a pure sine there; 0.5 each for a pair):
        # a burst that is not a DTMF pair (speech, a 440 Hz beep) reads as "?".
        energy_total = sum(v * v for v in seg) * len(seg) / 2 or 1
        share_lo, share_hi = power[lo] / energy_total, power[hi] / energy_total
        ok = share_lo > 0.15 and share_hi > 0.15 and share_lo + share_hi > 0.6
        digits.append(_BY_PAIR.get((lo, hi), "?") if ok else "?")
    return digits


# --- ZIP -------------------------------------------------------------------------------------------


def write_zip(cases: list[Case], zip_path, manifest: str = "csv") -> Path:
    """A ZIP of the cases' media (at its root, by file name) and ``manifest.csv`` or ``manifest.jsonl``
    with ``file``, ``expected``, ``kind`` (the medium's, "image" or "audio": playground/evals/imports.py
    ignores it, so the set's expected kind applies), ``tags`` (CSV: ``;``-separated; JSONL: a list)
    and one column per extra field."""
    if manifest not in ("csv", "jsonl"):
        raise ValueError(f"manifest must be 'csv' or 'jsonl', not {manifest!r}")
    zip_path = Path(zip_path)
    extra = sorted({k for c in cases for k in c.fields} - {"file", "expected", "kind", "tags"})
    rows = [{"file": c.path.name, "expected": c.expected, "kind": c.kind, "tags": c.tags,
             **{k: c.fields.get(k, "") for k in extra}} for c in cases]  # fmt: skip
    if manifest == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=["file", "expected", "kind", "tags", *extra], lineterminator="\n")
        writer.writeheader()
        writer.writerows({**r, "tags": ";".join(r["tags"])} for r in rows)
        text = buf.getvalue()
    else:
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    with zipfile.ZipFile(zip_path, "w") as z:
        z.writestr(f"manifest.{manifest}", text, compress_type=zipfile.ZIP_DEFLATED)
        for c in cases:  # media are compressed already: stored as they are
            z.write(c.path, c.path.name, compress_type=zipfile.ZIP_STORED)
    return zip_path
