#!/usr/bin/env python3
"""Writes www/samples/mnist-28.bin, the built-in sample classes of the app ("Try it with sample
classes"): real MNIST digits from ../shared/data/split-mnist/train, the first 40 of each digit.

Layout: for digit 0..9, 40 images of 28×28 bytes (grayscale, white digit on black), in order.
MNIST by Y. LeCun, C. Cortes, C. Burges (CC BY-SA 3.0)."""
import os, struct, sys, zlib

PER_CLASS, SIDE = 40, 28

def read_gray_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color == 0, f"{path}: expected 8-bit grayscale"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, rows, prev = zlib.decompress(idat), [], bytearray(width)
    for y in range(height):
        f, line = raw[y * (width + 1)], bytearray(raw[y * (width + 1) + 1:(y + 1) * (width + 1)])
        for x in range(width):
            a = line[x - 1] if x else 0
            b, c = prev[x], prev[x - 1] if x else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line)); prev = line
    assert (width, height) == (SIDE, SIDE), path
    return b"".join(rows)

root = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/split-mnist/train"
out = bytearray()
for digit in range(10):
    folder = os.path.join(root, str(digit))
    names = sorted(os.listdir(folder), key=lambda n: int(n.split(".")[0]))[:PER_CLASS]
    for name in names:
        out += read_gray_png(os.path.join(folder, name))
open("www/samples/mnist-28.bin", "wb").write(out)
print(f"wrote {len(out)} bytes")
