#!/usr/bin/env python3
"""Average incremental accuracy against training images per class, one line per method and
augmentation, with ± one standard deviation as error bars: an SVG from the `der bench --seeds K
--json` reports of scripts/bench-small-data.sh. Plain SVG, no plotting library.
Usage: scripts/small-data-plot.py target/bench-small docs/small-data.svg"""
import json, math, pathlib, re, sys

folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench-small")
out = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "docs/small-data.svg")
# "all": every training image, about 800 a class in ../shared/data/split-mnist.
ALL = 800
series = {}
for path in folder.glob("n*-*.json"):
    n, method, augment = re.match(r"n(\d+|all)-(.+)-(none|shift|photo)\.json", path.name).groups()
    n = ALL if n == "all" else int(n)
    r = json.loads(path.read_text())
    if "runs" not in r:
        continue
    a = r["avg_incremental_accuracy"]
    series.setdefault((method, augment), []).append((n, a["mean"], a["sd"]))

W, H, L, R, T, B = 640, 400, 60, 170, 20, 50
sizes = sorted({n for points in series.values() for n, _, _ in points})
lo, hi = math.log(min(sizes)), math.log(max(sizes))
x = lambda n: L + (W - L - R) * ((math.log(n) - lo) / (hi - lo) if hi > lo else 0.5)
y = lambda a: T + (H - T - B) * (1 - a / 100)
colours = {"der": "#2456d3", "der-noprune": "#7c3aed", "replay": "#d97706", "finetune": "#b42318"}
parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>']
for a in range(0, 101, 20):
    parts.append(f'<line x1="{L}" x2="{W - R}" y1="{y(a):.1f}" y2="{y(a):.1f}" stroke="#dde2ee"/>'
                 f'<text x="{L - 8}" y="{y(a) + 4:.1f}" text-anchor="end">{a}%</text>')
for n in sizes:
    parts.append(f'<text x="{x(n):.1f}" y="{H - B + 18}" text-anchor="middle">{"all (~800)" if n == ALL else n}</text>')
parts.append(f'<text x="{(L + W - R) / 2}" y="{H - 10}" text-anchor="middle">training images per class (Split-MNIST, 5 steps of 2 classes)</text>')
parts.append(f'<text x="14" y="{(T + H - B) / 2}" transform="rotate(-90 14 {(T + H - B) / 2})" text-anchor="middle">average incremental accuracy</text>')
legend = 0
for (method, augment), points in sorted(series.items()):
    points.sort()
    colour = colours.get(method, "#444")
    dash = "" if augment == "none" else ' stroke-dasharray="5 4"'
    parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="' + " ".join(f"{x(n):.1f},{y(m):.1f}" for n, m, _ in points) + '"/>')
    for n, m, sd in points:
        parts.append(f'<line x1="{x(n):.1f}" x2="{x(n):.1f}" y1="{y(m - sd):.1f}" y2="{y(m + sd):.1f}" stroke="{colour}"/>'
                     f'<circle cx="{x(n):.1f}" cy="{y(m):.1f}" r="3" fill="{colour}"/>')
    ly = T + 14 + 18 * legend
    parts.append(f'<line x1="{W - R + 12}" x2="{W - R + 36}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}" stroke-width="2"{dash}/>'
                 f'<text x="{W - R + 42}" y="{ly}">{method}{"" if augment == "none" else ", " + augment}</text>')
    legend += 1
parts.append("</svg>")
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text("\n".join(parts) + "\n")
print(f"wrote {out}: {len(series)} lines over {sizes}")
