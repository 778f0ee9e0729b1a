"""The one look of the appendix's charts: unit order, palettes, sizes, fonts and label wrapping.

Every chart takes its unit order from :func:`unit_order` (``units.yaml`` order: districts first, then the
municipal units by type, each type in the order ``config.units`` lists it), its colours from the palettes here
and its size from :func:`figure`, so a unit or an answer looks the same in every chart. Sizes are print sizes:
a figure is at most :data:`TEXT_WIDTH_CM` wide (an A4 page's text width) and no text is smaller than
:data:`SMALL_PT`.

matplotlib is imported only when a figure is made (:func:`figure`), never when this module is imported.

Examples
--------
>>> wrap("公职人员对本单位主要负责人履行第一责任人职责的评价", 10)
'公职人员对本单位主要\\n负责人履行第一责任人\\n职责的评价'
>>> likert_colours(5)[2] == NEUTRAL
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from pipeline.config import Config

#: Width of the text block of an A4 page with 2.5 cm margins, the widest a chart is drawn.
TEXT_WIDTH_CM = 16.0
#: Tallest chart: an A4 page's text height less room for the caption.
MAX_HEIGHT_CM = 22.0
#: Body text of a chart (tick labels, legends) and the smallest text drawn (annotations), in points.
FONT_PT = 8.5
SMALL_PT = 8.0
#: Resolution of the PNG files (print).
DPI = 200
#: Fixed salt of the SVG element ids, so that two runs write identical SVG files.
SVG_HASHSALT = "fazhi-eval"

#: Categorical palette for units, districts and groups (colour-blind safe, Okabe–Ito order, then greys).
CATEGORICAL = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#7F7F7F",
    "#8C564B",
)
#: Diverging palette of an ordered answer scale, worst to best (很不满意 … 非常满意); the middle is neutral.
NEGATIVE = ("#B2182B", "#EF8A62", "#FDDBC7")
POSITIVE = ("#D1E5F0", "#67A9CF", "#2166AC")
NEUTRAL = "#BDBDBD"
#: Sequential colour map of heatmaps (scores 0–100: light = low, dark = high).
SEQUENTIAL = "YlGnBu"
#: Colours of single-series marks and of the reference (city-wide) line.
MAIN = CATEGORICAL[0]
ACCENT = CATEGORICAL[5]
REFERENCE = "#333333"
MUTED = "#9E9E9E"


def unit_order(config: Config) -> list[str]:
    """Unit codes in the order every chart shows them: districts first, then the other unit types in the
    order of ``units.yaml: unit_types``, each type's units as ``units.yaml`` lists them."""
    if config.units is None:
        return []
    types = [
        config.units.district_type,
        *(t for t in config.units.unit_types if t != config.units.district_type),
    ]
    rank = {t: i for i, t in enumerate(types)}
    units = sorted(enumerate(config.units.units), key=lambda iu: (rank.get(iu[1].type, len(rank)), iu[0]))
    return [u.code for _, u in units]


def unit_names(config: Config) -> dict[str, str]:
    """Unit code → its Chinese name (``units.yaml``)."""
    return {} if config.units is None else {u.code: u.name for u in config.units.units}


def unit_types(config: Config) -> dict[str, str]:
    """Unit code → its type id."""
    return {} if config.units is None else {u.code: u.type for u in config.units.units}


def type_labels(config: Config) -> dict[str, str]:
    """Unit type id → its Chinese label, in chart order (districts first)."""
    if config.units is None:
        return {}
    labels = config.units.unit_types
    first = config.units.district_type
    return {first: labels.get(first, first), **{t: v for t, v in labels.items() if t != first}}


def district_colours(config: Config) -> dict[str, str]:
    """District code → its colour, the same in every chart."""
    if config.units is None:
        return {}
    codes = [u.code for u in config.units.units if u.type == config.units.district_type]
    return {c: CATEGORICAL[i % len(CATEGORICAL)] for i, c in enumerate(codes)}


def likert_colours(n: int) -> list[str]:
    """Colours of an ordered scale of ``n`` answers, worst to best; an odd ``n`` has a grey middle."""
    half = n // 2
    neg = list(NEGATIVE[: max(half, 0)]) if half <= len(NEGATIVE) else list(NEGATIVE) * half
    pos = list(POSITIVE[-half:]) if 0 < half <= len(POSITIVE) else list(POSITIVE) * half
    return neg[:half] + ([NEUTRAL] if n % 2 else []) + pos[:half]


#: Characters a line must not start with (Chinese line-breaking rules: closing punctuation stays on its line).
NO_LINE_START = set("，。、；：？！）》」』”’】…,.;:?!)]%")


def wrap(text: str, width: int) -> str:
    """``text`` broken into lines of about ``width`` characters (Chinese has no spaces to break at); closing
    punctuation is kept at the end of its line rather than starting the next."""
    text = " ".join(str(text).split())
    if width < 1 or len(text) <= width:
        return text
    lines, line = [], ""
    for char in text:
        if len(line) >= width and char not in NO_LINE_START:
            lines.append(line)
            line = ""
        line += char
    return "\n".join([*lines, line])


def vertical(text: str) -> str:
    """``text`` set vertically, one character a line (column headers of narrow heatmap columns)."""
    return "\n".join(str(text).replace(" ", ""))


def cm(x: float) -> float:
    """Centimetres in inches (matplotlib's unit of figure size)."""
    return x / 2.54


_READY: dict[str, Any] = {}


def setup() -> str | None:
    """Configure matplotlib for the appendix once per process: the non-interactive Agg canvas, the bundled CJK
    font (:func:`pipeline.results.use_cjk_font`), the sizes above and the fixed SVG salt. Returns the font
    name (``None`` when the CJK font is unavailable)."""
    if "font" in _READY:
        return _READY["font"]
    import matplotlib

    matplotlib.use("Agg", force=True)
    from pipeline.results import use_cjk_font

    font = use_cjk_font()
    matplotlib.rcParams.update(
        {
            "font.size": FONT_PT,
            "axes.titlesize": FONT_PT,
            "axes.labelsize": FONT_PT,
            "xtick.labelsize": FONT_PT,
            "ytick.labelsize": FONT_PT,
            "legend.fontsize": FONT_PT,
            "legend.title_fontsize": FONT_PT,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.linewidth": 0.6,
            "xtick.major.width": 0.6,
            "ytick.major.width": 0.6,
            "lines.linewidth": 1.0,
            "savefig.dpi": DPI,
            "svg.hashsalt": SVG_HASHSALT,
            "svg.fonttype": "path",  # glyphs as outlines: the SVG needs no font where it is opened
            "path.simplify": True,
        }
    )
    _READY["font"] = font
    return font


def figure(height_cm: float, width_cm: float = TEXT_WIDTH_CM) -> Figure:
    """A new figure of print size ``width_cm`` × ``height_cm`` (capped at the page), laid out by matplotlib's
    constrained layout so that labels are not clipped. Not registered with pyplot: nothing to close."""
    setup()
    from matplotlib.figure import Figure

    size = (cm(min(width_cm, TEXT_WIDTH_CM)), cm(min(max(height_cm, 4.0), MAX_HEIGHT_CM)))
    return Figure(figsize=size, layout="constrained")
