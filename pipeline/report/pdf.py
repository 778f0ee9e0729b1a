"""Word → PDF with LibreOffice headless, with Chinese fonts that exist on a fresh machine.

The documents name 宋体 and 黑体, which a Linux machine rarely has. The conversion runs LibreOffice with its
own fontconfig file: the system configuration, plus the font folder of the ``mplfonts`` package (the same
bundled fonts the charts use, :data:`pipeline.results.CJK_FONT_FILE`), plus aliases 宋体/SimSun → Noto Serif
CJK SC and 黑体/SimHei → SimHei (both bundled), each falling back to Noto Sans CJK SC. LibreOffice runs with a
private user profile in a temporary folder, so it neither needs nor changes the user's own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

from pipeline.errors import DataError

#: How long one conversion may take (seconds).
TIMEOUT_S = 180
#: The system fontconfig file the private one includes.
SYSTEM_FONTS_CONF = "/etc/fonts/fonts.conf"
#: Font names in the documents → bundled families that render them, in order of preference.
ALIASES = {
    "宋体": ("Noto Serif CJK SC", "Noto Sans CJK SC"),
    "SimSun": ("Noto Serif CJK SC", "Noto Sans CJK SC"),
    "黑体": ("SimHei", "Noto Sans CJK SC"),
    "SimHei": ("SimHei", "Noto Sans CJK SC"),
}
INSTALL_HINT = "请安装 LibreOffice（apt-get install libreoffice-writer-nogui）"


def soffice() -> str | None:
    """The LibreOffice executable on ``PATH`` (``soffice`` or ``libreoffice``), or ``None``."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def bundled_font_dir() -> Path | None:
    """The folder of the CJK fonts ``mplfonts`` ships, or ``None`` when the package or font is missing."""
    from pipeline.results import CJK_FONT_FILE

    try:
        import mplfonts
    except ImportError:
        return None
    folder = Path(mplfonts.__file__).parent / "fonts"
    return folder if (folder / CJK_FONT_FILE).exists() else None


def fontconfig_xml(font_dir: Path | None, cache_dir: Path) -> str:
    """A fontconfig file: the system one, the bundled font folder and the 宋体/黑体 aliases."""
    lines = [
        '<?xml version="1.0"?>',
        '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">',
        "<fontconfig>",
        f'  <include ignore_missing="yes">{escape(SYSTEM_FONTS_CONF)}</include>',
    ]
    if font_dir is not None:
        lines.append(f"  <dir>{escape(str(font_dir))}</dir>")
    lines.append(f"  <cachedir>{escape(str(cache_dir))}</cachedir>")
    for name, families in ALIASES.items():
        prefer = "".join(f"<family>{escape(f)}</family>" for f in families)
        lines.append(
            f'  <alias binding="same"><family>{escape(name)}</family><prefer>{prefer}</prefer></alias>'
        )
    lines.append("</fontconfig>")
    return "\n".join(lines) + "\n"


def convert_to_pdf(docx: Path, dest_dir: Path, timeout: float = TIMEOUT_S) -> Path:
    """Convert ``docx`` to ``dest_dir/<same name>.pdf`` with LibreOffice headless; returns the PDF's path.

    Raises
    ------
    DataError
        LibreOffice is not installed, fails, times out, or writes no PDF (the message says which).
    """
    exe = soffice()
    if exe is None:
        raise DataError(f"找不到 soffice，无法生成 PDF；{INSTALL_HINT} (LibreOffice not found)")
    docx, dest_dir = Path(docx).resolve(), Path(dest_dir).resolve()
    if not docx.is_file():
        raise DataError(f"要转换的文件不存在 (file to convert not found): {docx.name}")
    dest_dir.mkdir(parents=True, exist_ok=True)
    pdf = dest_dir / f"{docx.stem}.pdf"
    pdf.unlink(missing_ok=True)  # LibreOffice may exit 0 without writing: a stale PDF must not pass for new
    with tempfile.TemporaryDirectory(prefix="fazhi-pdf-") as tmp:
        tmp_path = Path(tmp)
        conf = tmp_path / "fonts.conf"
        conf.write_text(fontconfig_xml(bundled_font_dir(), tmp_path / "fc-cache"), encoding="utf-8")
        env = {**os.environ, "FONTCONFIG_FILE": str(conf), "SAL_USE_VCLPLUGIN": "svp"}
        command = [
            exe,
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(dest_dir),
            str(docx),
        ]
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise DataError(
                f"LibreOffice 转换 {docx.name} 超过 {timeout:.0f} 秒未完成 (conversion timed out)"
            ) from exc
    if done.returncode != 0 or not pdf.is_file():
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise DataError(f"LibreOffice 未能把 {docx.name} 转为 PDF (conversion failed): {detail[0]}")
    return pdf


def appendix_pdf(out: Path, config, dest_dir: Path, timeout: float = TIMEOUT_S) -> Path:
    """``dest_dir/statistics_appendix.pdf`` from the report stage's output in ``out``, its contents with page
    numbers: a first conversion shows where each heading lands (:mod:`pipeline.report.toc_pages`), the
    appendix is written again with those numbers into a temporary folder, and that copy is converted. The
    stage's own ``.docx`` is left as it is.

    Raises
    ------
    DataError
        The report stage has not run, its output no longer matches the stage outputs it was built from, or
        LibreOffice fails (see :func:`convert_to_pdf`).
    """
    from pipeline import paths
    from pipeline.report.appendix import appendix, report_meta
    from pipeline.report.docx_writer import toc_entries, write_appendix_docx
    from pipeline.report.inputs import ReportInputs
    from pipeline.report.toc_pages import entry_pages, page_texts

    folder = paths.stage_dir(Path(out), "report")
    if not (folder / paths.REPORT_DOCX).is_file():
        raise DataError(
            f"找不到 {folder / paths.REPORT_DOCX}：请先运行 fazhi-eval report (the report stage has not run)"
        )
    built = appendix(ReportInputs(Path(out), config), charts=(folder / paths.REPORT_CHARTS).is_dir())
    recorded = paths.table_path(Path(out), "report", "contents")
    if recorded.exists():
        import pandas as pd

        if not pd.read_parquet(recorded)[["number", "key"]].equals(built.contents()[["number", "key"]]):
            raise DataError(
                f"{folder} 与其所依据的阶段结果不一致：请先重新运行 fazhi-eval report "
                "(the appendix is older than the stage outputs: run the report stage again)"
            )
    with tempfile.TemporaryDirectory(prefix="fazhi-toc-") as tmp:
        first = convert_to_pdf(folder / paths.REPORT_DOCX, Path(tmp) / "first", timeout)
        entries = [text for _, text in toc_entries(built.sections)]
        pages = entry_pages(page_texts(first), entries)
        numbered_copy = Path(tmp) / paths.REPORT_DOCX
        write_appendix_docx(
            built.sections,
            built.numbers,
            folder / paths.REPORT_CHARTS,
            numbered_copy,
            report_meta(config),
            pages,
        )
        return convert_to_pdf(numbered_copy, dest_dir, timeout)
