"""The CJK font embedded in the inspector PDF: a subset of an installed CJK font (Debian's
fonts-noto-cjk by default) holding just the characters the document uses, so the PDF reads
the same on any reader and its text can be extracted.

reportlab embeds TrueType outlines only, and Noto CJK ships PostScript (CFF) outlines: the
subset is converted to TrueType quadratic outlines (fontTools' cu2qu, tolerance 1 font unit)
before it is registered. Subsetting the 65,000-glyph collection takes about 2 s here."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, TTLibError, newTable
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont as ReportlabTTFont

#: Installed fonts tried in order (path, face name wanted in a collection).
CJK_FONT_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", "Noto Serif CJK SC"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "WenQuanYi Micro Hei"),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "WenQuanYi Zen Hei"),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", "AR PL UMing CN"),
)
#: Characters every document may need besides its own text (digits, Latin, punctuation).
BASE_CHARS = "".join(chr(c) for c in range(32, 127)) + "，。：；、（）—–·／《》“”「」【】…°→×≤≥％"
#: Subsets kept registered at once (each a few hundred kB; documents being written use the newest).
KEPT_FONTS = 16
_registered: list[str] = []
#: Largest error of the quadratic outlines, font units (of 1000 per em).
CU2QU_MAX_ERR = 1.0


class EvidenceFontError(RuntimeError):
    """No CJK font to embed: the message says what to install."""


def find_cjk_font(candidates: Sequence[tuple[str, str]] | None = None) -> tuple[Path, int] | None:
    """The first installed candidate (default CJK_FONT_CANDIDATES): its path and the index
    of the wanted face in it."""
    for path_text, face in CJK_FONT_CANDIDATES if candidates is None else candidates:
        path = Path(path_text)
        if not path.is_file():
            continue
        for number in range(32):
            try:
                font = TTFont(path, fontNumber=number, lazy=True)
            except (TTLibError, OSError, IndexError):
                break
            if font["name"].getDebugName(1) == face or path.suffix != ".ttc":
                return path, number
        return path, 0
    return None


def _to_truetype(font: TTFont) -> None:
    """Replace the CFF outlines of ``font`` by TrueType ones, in place."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(None)
        glyph_set[name].draw(Cu2QuPen(pen, CU2QU_MAX_ERR, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["head"].indexToLocFormat = 0
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"


def subset_font_bytes(path: Path, number: int, text: str) -> bytes:
    """A TrueType font holding the glyphs of ``text`` (and BASE_CHARS) from face ``number``."""
    font = TTFont(path, fontNumber=number, lazy=True)
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.desubroutinize = True
    options.notdef_outline = True
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(set(text + BASE_CHARS))))
    subsetter.subset(font)
    if "CFF " in font:
        _to_truetype(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def register_cjk_font(texts: Iterable[str], candidates: Sequence[tuple[str, str]] | None = None) -> str:
    """Register a subset of the first installed CJK font covering ``texts`` with reportlab
    and return its name (named by its content, so concurrent documents do not collide).
    reportlab keeps fonts process-wide: beyond KEPT_FONTS the oldest subset is dropped.
    Raises ``EvidenceFontError``."""
    candidates = CJK_FONT_CANDIDATES if candidates is None else candidates
    found = find_cjk_font(candidates)
    if found is None:
        tried = ", ".join(p for p, _ in candidates)
        raise EvidenceFontError(f"pdf: no CJK font installed for the Chinese PDF (tried {tried}); install "
                                "Debian's fonts-noto-cjk, or export with language en")
    text = "".join(texts)
    data = subset_font_bytes(*found, text)
    name = "EvidenceCJK-" + hashlib.sha256(data).hexdigest()[:16]
    if name not in pdfmetrics.getRegisteredFontNames():
        font = ReportlabTTFont(name, io.BytesIO(data))
        # reportlab maps a dynamic font to the first one registered under the same face name:
        # every subset gets its own, or a later document is drawn with an earlier subset's glyphs
        font.face.name = name.encode("ascii")
        pdfmetrics.registerFont(font)
        _registered.append(name)
        registry = getattr(pdfmetrics, "_fonts", {})
        faces = getattr(pdfmetrics, "_dynFaceNames", {})
        while len(_registered) > KEPT_FONTS:
            dropped = _registered.pop(0)
            registry.pop(dropped, None)
            faces.pop(dropped.encode("ascii"), None)
    return name
