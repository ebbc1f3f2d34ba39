"""The page of an official document (GB/T 9704-2012) as far as python-docx can set it.

A4; margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm (§5.2.1: a 156 × 225 mm type
area); the body 仿宋_GB2312 三号 (16 pt) at 22 lines a page (exact line spacing 28.95 pt) and 28
characters a line (characters drawn 0.25 pt closer: 28 × 15.75 pt fit 156 mm), each paragraph
indented two characters; the title 方正小标宋简体 二号 (22 pt) centred; level-1 headings 黑体,
level-2 楷体_GB2312; page numbers 宋体 四号 as "— 1 —", odd pages right and even pages left,
one character in from the edge (§7.5). Chinese font names are set on ``w:rFonts/@w:eastAsia``,
which python-docx's ``font.name`` does not write. A font the machine lacks is replaced by the
viewer (LibreOffice picks a CJK font the system has), the layout staying the same.
"""

from __future__ import annotations

from docx.document import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_LINE_SPACING, WD_PARAGRAPH_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.styles.style import ParagraphStyle
from docx.text.paragraph import Paragraph
from docx.text.run import Run

__all__ = [
    "BODY",
    "HEADING_1",
    "HEADING_2",
    "SUBTITLE",
    "TITLE",
    "indent",
    "page_setup",
    "set_fonts",
    "text_width",
]

FANGSONG, HEITI, KAITI, SONGTI = "仿宋_GB2312", "黑体", "楷体_GB2312", "宋体"
XIAOBIAOSONG = "方正小标宋简体"
SANHAO, ERHAO, SIHAO = Pt(16), Pt(22), Pt(14)
LINE = Pt(28.95)  # 22 lines in the 225 mm type area
CHAR_SPACING = -5  # twentieths of a point: 15.75 pt a character, 28 to a line
BODY, TITLE, SUBTITLE, HEADING_1, HEADING_2 = (
    "Normal",
    "公文标题",
    "公文副题",
    "一级标题",
    "二级标题",
)

# What follows an element in its parent, by the schema (ECMA-376 CT_RPr, CT_PPrBase): Word
# refuses a document whose elements are out of order.
_AFTER_SPACING = ("w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u",
                  "w:effect", "w:bdr", "w:shd", "w:fitText", "w:vertAlign", "w:rtl", "w:cs",
                  "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish", "w:oMath")  # fmt: skip
_AFTER_AUTOSPACE = ("w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
                    "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
                    "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl",
                    "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")  # fmt: skip


def page_setup(document: Document) -> None:
    """A4, the margins, the styles and the page numbers of every section."""
    section = document.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(21)  # the numbers' top 7 mm below the type area
    _styles(document)
    document.settings.odd_and_even_pages_header_footer = True
    _page_number(section.footer.paragraphs[0], WD_PARAGRAPH_ALIGNMENT.RIGHT)
    _page_number(section.even_page_footer.paragraphs[0], WD_PARAGRAPH_ALIGNMENT.LEFT)


def text_width(text: str) -> float:
    """Width in characters of the body font: a Chinese character 1, an ASCII one ½."""
    return sum(0.5 if ord(c) < 128 else 1.0 for c in text)


def set_fonts(element: object, east_asia: str, latin: str = "Times New Roman") -> None:
    """``w:rFonts`` of a style's or a run's ``rPr``: ``east_asia`` for Chinese characters."""
    rpr = element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for key, value in (("w:ascii", latin), ("w:hAnsi", latin), ("w:eastAsia", east_asia),
                       ("w:cs", latin)):  # fmt: skip
        fonts.set(qn(key), value)


def _styles(document: Document) -> None:
    body = document.styles[BODY]
    assert isinstance(body, ParagraphStyle)
    _shape(body, FANGSONG, SANHAO, indent=True)
    spacing = OxmlElement("w:spacing")
    spacing.set(qn("w:val"), str(CHAR_SPACING))
    body.element.get_or_add_rPr().insert_element_before(spacing, *_AFTER_SPACING)
    body.paragraph_format.alignment = WD_PARAGRAPH_ALIGNMENT.JUSTIFY
    ppr = body.element.get_or_add_pPr()
    for name, after in (("w:autoSpaceDE", ("w:autoSpaceDN", *_AFTER_AUTOSPACE)),
                        ("w:autoSpaceDN", _AFTER_AUTOSPACE)):  # fmt: skip
        off = OxmlElement(name)  # no extra space beside Latin letters and digits: 28 characters
        off.set(qn("w:val"), "0")  # a line, and a date as wide as it is counted
        ppr.insert_element_before(off, *after)
    for name, font, size, indent in ((TITLE, XIAOBIAOSONG, ERHAO, False),
                                     (SUBTITLE, KAITI, SANHAO, False),
                                     (HEADING_1, HEITI, SANHAO, True),
                                     (HEADING_2, KAITI, SANHAO, True)):  # fmt: skip
        style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        assert isinstance(style, ParagraphStyle)
        style.base_style = body
        style.next_paragraph_style = body
        _shape(style, font, size, indent=indent)
        if not indent:
            style.paragraph_format.alignment = WD_PARAGRAPH_ALIGNMENT.CENTER


def _shape(style: ParagraphStyle, east_asia: str, size: Pt, *, indent: bool) -> None:
    style.font.size = size
    set_fonts(style.element, east_asia)
    fmt = style.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE
    fmt.widow_control = False  # 22 lines a page, none moved to the next
    indent_(style.element, chars=2 if indent else 0)


def indent(element: object, *, chars: int) -> None:
    """A first-line indent of ``chars`` characters on a style or a paragraph: ``firstLineChars``
    (what Word reads first, and a style's is inherited) and ``firstLine`` at 三号."""
    ind = element.get_or_add_pPr().get_or_add_ind()  # type: ignore[attr-defined]
    ind.set(qn("w:firstLineChars"), str(chars * 100))
    ind.set(qn("w:firstLine"), str(chars * 320))  # twips: 16 pt a character


indent_ = indent


def _page_number(paragraph: Paragraph, side: WD_PARAGRAPH_ALIGNMENT) -> None:
    """ "— N —" in 宋体 四号, one character in from ``side``."""
    paragraph.alignment = side
    fmt = paragraph.paragraph_format
    indent(paragraph._p, chars=0)
    if side == WD_PARAGRAPH_ALIGNMENT.RIGHT:
        fmt.right_indent = SIHAO
    else:
        fmt.left_indent = SIHAO
    _number_run(paragraph, "— ")
    for part in ("begin", "PAGE", "separate", "1", "end"):  # a PAGE field, shown 1 until updated
        run = _number_run(paragraph, "")
        if part in ("begin", "separate", "end"):
            mark = OxmlElement("w:fldChar")
            mark.set(qn("w:fldCharType"), part)
            run._r.append(mark)
        elif part == "PAGE":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = f" {part} "
            run._r.append(instr)
        else:
            run.text = part
    _number_run(paragraph, " —")


def _number_run(paragraph: Paragraph, text: str) -> Run:
    run = paragraph.add_run(text)
    run.font.size = SIHAO
    set_fonts(run._r, SONGTI, SONGTI)
    return run
