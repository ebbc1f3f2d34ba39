"""The brief as a .docx: its page and fonts as GB/T 9704 sets them, and the document rendered
by LibreOffice (headless) to PDF and by poppler's pdftoppm to PNG, as a person would print it.

The render test needs ``soffice`` and ``pdftoppm`` (Debian's libreoffice-writer-nogui and
poppler-utils, installed by `make system-deps`) and skips, saying so, without them. The GB fonts
(仿宋_GB2312, 方正小标宋简体…) are not free: a fontconfig file for the run maps them to the Noto
CJK fonts where those are installed, as an office PC would have the real ones.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest
from PIL import Image

from streams.brief.assemble import build
from streams.brief.document import docx_bytes
from streams.brief.model import Brief
from tests.brief_samples import NOW, WEEK, county

NAMES = {"water": "县水利局", "health": "县卫健局", "agri": "县农业农村局", "edu": "县教育局",
         "env": "县生态环境分局", "transport": "县交通运输局", "housing": "县住建局"}  # fmt: skip
ALIASES = {"仿宋_GB2312": "Noto Serif CJK SC", "宋体": "Noto Serif CJK SC",
           "方正小标宋简体": "Noto Serif CJK SC", "楷体_GB2312": "Noto Serif CJK SC",
           "黑体": "Noto Sans CJK SC"}  # fmt: skip


@pytest.fixture(scope="module")
def brief() -> Brief:
    made = county()
    return build(made.books(), WEEK, NOW, made.settings, lambda c: NAMES.get(c, c))


@pytest.fixture(scope="module")
def document(brief: Brief) -> bytes:
    return docx_bytes(brief)


def test_the_page_is_a4_with_the_gb_9704_margins(document: bytes) -> None:
    section = docx.Document(io.BytesIO(document)).sections[0]
    sizes = (section.page_width, section.page_height, section.top_margin,
             section.bottom_margin, section.left_margin, section.right_margin)  # fmt: skip
    assert [round(size.mm, 1) for size in sizes if size is not None] == [210, 297, 37, 35, 28, 26]


def test_the_fonts_are_set_for_chinese_text(document: bytes) -> None:
    styles = zipfile.ZipFile(io.BytesIO(document)).read("word/styles.xml").decode()
    for font in ("仿宋_GB2312", "方正小标宋简体", "黑体", "楷体_GB2312"):
        assert f'w:eastAsia="{font}"' in styles
    footer = zipfile.ZipFile(io.BytesIO(document)).read("word/footer1.xml").decode()
    assert "PAGE" in footer and "— " in footer and 'w:eastAsia="宋体"' in footer


def test_the_text_has_the_three_parts_title_and_signature(document: bytes, brief: Brief) -> None:
    paragraphs = [(p.style.name, p.text) for p in docx.Document(io.BytesIO(document)).paragraphs]
    assert paragraphs[0] == ("公文标题", "2026年第49周工作简报")
    headings = [text for style, text in paragraphs if style == "一级标题"]
    assert headings == ["一、本周热点", "二、重点关注", "三、工作亮点"]
    assert ("二级标题", "（一）学区划分（话题）") in paragraphs
    assert [text for _, text in paragraphs[-2:]] == [brief.issuer, "2026年12月6日"]
    assert all("1390000" not in text for _, text in paragraphs)  # phone numbers masked


def _fontconfig(folder: Path) -> dict[str, str]:
    """An environment whose fontconfig maps the GB font names to installed Noto CJK fonts."""
    aliases = "".join(f"<alias binding='same'><family>{gb}</family><prefer><family>{noto}"
                      f"</family></prefer></alias>" for gb, noto in ALIASES.items())  # fmt: skip
    conf = folder / "fonts.conf"
    conf.write_text(f"<?xml version='1.0'?><!DOCTYPE fontconfig SYSTEM 'fonts.dtd'><fontconfig>"
                    f"<include ignore_missing='yes'>/etc/fonts/fonts.conf</include>{aliases}"
                    f"</fontconfig>", encoding="utf-8")  # fmt: skip
    return {**os.environ, "FONTCONFIG_FILE": str(conf), "HOME": str(folder)}


@pytest.mark.skipif(not (shutil.which("soffice") and shutil.which("pdftoppm")),
                    reason="needs LibreOffice (soffice) and poppler-utils (pdftoppm): "
                           "`make system-deps` installs them")  # fmt: skip
def test_the_document_renders_to_pages_with_text_on_them(document: bytes, tmp_path: Path) -> None:
    (tmp_path / "brief.docx").write_bytes(document)
    env = _fontconfig(tmp_path)
    profile = f"-env:UserInstallation=file://{tmp_path}/lo-profile"
    subprocess.run(["soffice", profile, "--headless", "--convert-to", "pdf", "--outdir",
                    str(tmp_path), str(tmp_path / "brief.docx")], env=env, check=True,
                   capture_output=True, timeout=180)  # fmt: skip
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(tmp_path / "brief.pdf"),
                    str(tmp_path / "page")], check=True, timeout=60)  # fmt: skip
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    for page in pages:
        with Image.open(page) as image:
            width, height = image.size
            assert (width, height) in ((496, 702), (496, 701), (497, 702))  # A4 at 60 dpi
            grey = image.convert("L")
            dark = sum(grey.histogram()[:128])
            assert 300 < dark < 0.2 * width * height  # text on it, and not a black page
    if os.environ.get("MIDFIELD_KEEP_BRIEF_PNG"):  # to look at them: a folder to copy them to
        for page in [tmp_path / "brief.pdf", *pages]:
            shutil.copy(page, os.environ["MIDFIELD_KEEP_BRIEF_PNG"])
