#!/usr/bin/env python3
"""check_screenshot.py SHOT.png WIDTH HEIGHT: the screenshot has the expected size and shows a rendered page.

Rendered: not one flat colour; at least 1% of the pixels are not the page background (the most common colour), and
the drawn pixels use at least 8 distinct colours (text, chart lines, heat map and images, not a blank or an error
page). Decodes the PNG with zlib alone (8-bit RGB or RGBA, any filter). Prints the measures; exits 1 on failure.
"""
import struct
import sys
import zlib
from collections import Counter


def decode_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            if depth != 8 or colour not in (2, 6):
                raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw, stride = zlib.decompress(idat), width * channels
    rows, previous, pos = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[pos], bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def main():
    path, want_w, want_h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    width, height, channels, rows = decode_png(path)
    if (width, height) != (want_w, want_h):
        print(f"{path}: {width}x{height}, expected {want_w}x{want_h}")
        return 1
    colours = Counter()
    for row in rows[::2]:
        for x in range(0, width * channels, 2 * channels):
            colours[row[x:x + 3]] += 1
    total = sum(colours.values())
    background, count = colours.most_common(1)[0]
    drawn = 1 - count / total
    print(f"{path}: {width}x{height}, {len(colours)} colours, {100 * drawn:.1f}% of the pixels drawn over the "
          f"background #{background.hex()}")
    if drawn < 0.01 or len(colours) < 8:
        print(f"{path}: looks blank (expected >= 1% drawn pixels and >= 8 colours)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
