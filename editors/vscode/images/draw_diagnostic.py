"""Draw images/diagnostic.png: a diagnostic exactly as ``hookpipe lsp`` publishes it.

Not a screenshot of VS Code: the source, range, message, related location and
quick fix come from the server's own code (``analyse`` and ``to_lsp``, what it
publishes for the file), laid out like an editor showing the hover. Run from the
repository root with the dev environment (Pillow comes with it):

    .venv/bin/python editors/vscode/images/draw_diagnostic.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from hookpipe.lsp.analysis import analyse
from hookpipe.lsp.diagnostics import to_lsp

SOURCE = Path("tests/fixtures/lsp/effect_order.pipe")
OUT = Path(__file__).with_name("diagnostic.png")
FIRST, LAST = 9, 18  # lines shown
SIZE, LINE_H, CHAR_W, PAD = 15, 22, 9, 16


def main() -> None:
    path = SOURCE.resolve()
    text = path.read_text(encoding="utf-8")
    analysis = analyse(path, {path: text})
    (found,) = analysis.diagnostics[path]
    d = to_lsp(found, analysis.ctx)
    font = ImageFont.truetype("DejaVuSansMono.ttf", SIZE)
    bold = ImageFont.truetype("DejaVuSansMono-Bold.ttf", SIZE)
    lines = text.splitlines()
    hover = [f"{d.code} {found.severity}: " + d.message.splitlines()[0], *d.message.splitlines()[1:]]
    for info in d.related_information or []:
        hover.append(f"{SOURCE.name}({info.location.range.start.line + 1}, "
                     f"{info.location.range.start.character + 1}): {info.message}")
    hover.append(f"Quick Fix: {d.data['fixes'][0]['title']}")
    width = PAD * 2 + CHAR_W * max(110, *(len(h) + 4 for h in hover))
    code_h = LINE_H * (LAST - FIRST + 1)
    height = PAD * 3 + code_h + LINE_H * len(hover) + PAD
    image = Image.new("RGB", (width, height), "#1e1e1e")
    draw = ImageDraw.Draw(image)
    gutter = PAD + CHAR_W * 4
    for row, number in enumerate(range(FIRST, LAST + 1)):
        y = PAD + row * LINE_H
        draw.text((PAD, y), f"{number:>2}", fill="#858585", font=font)
        draw.text((gutter, y), lines[number - 1], fill="#d4d4d4", font=font)
        if number == d.range.start.line + 1:
            x0 = gutter + CHAR_W * d.range.start.character
            x1 = gutter + CHAR_W * d.range.end.character
            base = y + LINE_H - 3
            points = [(x, base - (2 if (x // 3) % 2 else 0)) for x in range(x0, x1 + 1, 3)]
            draw.line(points, fill="#f14c4c", width=2)
    top = PAD * 2 + code_h
    draw.rectangle((gutter - 6, top - 6, width - PAD, height - PAD), fill="#252526", outline="#454545")
    for row, line in enumerate(hover):
        colour = "#f14c4c" if row == 0 else ("#3794ff" if line.startswith("Quick Fix") else "#cccccc")
        draw.text((gutter, top + row * LINE_H), line, fill=colour, font=bold if row == 0 else font)
    image.save(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
