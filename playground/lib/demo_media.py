"""Small, pleasant sample media made on the spot, so a fresh Prism has something to show.

No files are shipped or downloaded: each function draws or synthesises its bytes.
"""

import io
import math
import struct
import time
import wave

from PIL import Image, ImageDraw, ImageFont


def _font(size: int):
    # Pillow ships a scalable default font (with FreeType); text stays legible in thumbnails.
    return ImageFont.load_default(size=size)


def spectrum_png(width: int = 1280, height: int = 800) -> bytes:
    """A prism-like light spectrum with a title: a picture with clear, describable content."""
    img = Image.new("RGB", (width, height), (18, 20, 28))
    draw = ImageDraw.Draw(img)
    for x in range(width):
        hue = x / width
        r, g, b = _hsv(hue, 0.85, 1.0)
        top = int(height * 0.35 + 60 * math.sin(hue * math.pi))
        draw.line([(x, top), (x, height)], fill=(int(r * 255), int(g * 255), int(b * 255)))
    draw.polygon([(width // 2, 40), (width // 2 - 160, 300), (width // 2 + 160, 300)], outline=(240, 240, 255), width=6)
    draw.text((40, 700), "A white triangle above a rainbow", fill=(255, 255, 255), font=_font(44), stroke_width=3, stroke_fill=(0, 0, 0))
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def shapes_jpeg(width: int = 1600, height: int = 1200) -> bytes:
    """Three labelled shapes on a light background: a red circle, a green square, a blue triangle."""
    img = Image.new("RGB", (width, height), (244, 241, 234))
    draw = ImageDraw.Draw(img)
    draw.ellipse([150, 350, 550, 750], fill=(214, 48, 49))
    draw.rectangle([650, 350, 1050, 750], fill=(39, 174, 96))
    draw.polygon([(1350, 330), (1150, 770), (1550, 770)], fill=(41, 98, 255))
    for x, label in ((300, "circle"), (800, "square"), (1300, "triangle")):
        draw.text((x, 830), label, fill=(30, 30, 30), font=_font(56), anchor="ma")
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88)
    return out.getvalue()


def chord_wav(seconds: float = 6.0, rate: int = 16000) -> bytes:
    """A C-major arpeggio: three notes one after another, then together."""
    notes = (261.63, 329.63, 392.0)
    n = int(seconds * rate)
    frames = bytearray()
    for i in range(n):
        t = i / rate
        part = int(t / (seconds / 4))
        active = notes if part >= 3 else notes[part : part + 1]
        envelope = min(1.0, (t % (seconds / 4)) * 20) * 0.6
        sample = sum(math.sin(2 * math.pi * f * t) for f in active) / len(active) * envelope
        frames += struct.pack("<h", int(sample * 32767))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return out.getvalue()


def brief_pdf() -> bytes:
    """A two-page 'product brief' PDF."""
    pages = []
    for number, lines in enumerate(
        (
            ["Prism demo brief", "", "Page 1: What the model should read.", "Invoice total: 1,284.50 EUR"],
            ["Page 2", "", "Delivery date: 2026-12-01", "Signed: A. Tester"],
        ),
        start=1,
    ):
        page = Image.new("RGB", (1240, 1754), "white")
        draw = ImageDraw.Draw(page)
        for i, line in enumerate(lines):
            draw.text((120, 160 + i * 90), line, fill=(20, 20, 20), font=_font(64 if i == 0 else 44))
        draw.text((1100, 1660), str(number), fill=(120, 120, 120), font=_font(36))
        pages.append(page)
    out = io.BytesIO()
    # Fixed dates: the same bytes every time, so seeding again finds the same stored file.
    fixed = time.gmtime(1767225600)  # 2026-01-01
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=150,
                  title="Prism demo brief", creationDate=fixed, modDate=fixed)
    return out.getvalue()


def orbit_mp4(seconds: float = 3.0, fps: int = 24, size: int = 320) -> bytes:
    """A ball circling a square frame: a short H.264 video with motion to describe."""
    import av  # imported here: only the demo command needs video encoding

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("h264", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(int(seconds * fps)):
            img = Image.new("RGB", (size, size), (20, 24, 40))
            draw = ImageDraw.Draw(img)
            angle = 2 * math.pi * i / (seconds * fps)
            cx = size / 2 + size / 3 * math.cos(angle)
            cy = size / 2 + size / 3 * math.sin(angle)
            draw.ellipse([cx - 20, cy - 20, cx + 20, cy + 20], fill=(255, 196, 0))
            for packet in stream.encode(av.VideoFrame.from_image(img)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    import colorsys

    return colorsys.hsv_to_rgb(h, s, v)


DEMO_FILES = (
    ("prism-spectrum.png", spectrum_png),
    ("three-shapes.jpg", shapes_jpeg),
    ("c-major-arpeggio.wav", chord_wav),
    ("demo-brief.pdf", brief_pdf),
    ("orbit.mp4", orbit_mp4),
)
