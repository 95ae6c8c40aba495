"""Documents from HTML templates: autoescape, strict variables, the marking on every page."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader

from patrolcast.errors import InputError
from patrolcast.io.documents import image_data_uri, render, write_pdf


def _text(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def test_base_template_escapes_user_text() -> None:
    html = render("base.html", marking="OFFICIAL", title='<img src=x onerror="alert(1)">')
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


def test_missing_variable_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(InputError, match="marking"):
        render("base.html", title="no marking given")


def test_unknown_template_is_one_clear_error() -> None:
    with pytest.raises(InputError, match="no document template named 'nope.html'"):
        render("nope.html", marking="OFFICIAL", title="x")


def test_pdf_is_a4_with_the_marking_top_and_bottom(tmp_path: Path) -> None:
    html = render("base.html", marking="OFFICIAL - SENSITIVE", title="Briefing <b>test</b>")
    pdf = write_pdf(html, tmp_path / "sub" / "doc.pdf")
    reader = PdfReader(pdf)
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)
    text = _text(pdf)[0]
    assert text.count("OFFICIAL - SENSITIVE") == 2
    assert "Briefing <b>test</b>" in text  # printed as text, not interpreted as markup


def test_outside_resources_are_never_fetched(tmp_path: Path) -> None:
    import matplotlib.image

    secret = tmp_path / "secret.png"
    matplotlib.image.imsave(secret, [[0.0, 1.0], [1.0, 0.0]])
    embedded = render("base.html", marking="OFFICIAL", title="x").replace(
        "</body>", f'<img src="{image_data_uri(secret)}"></body>'
    )
    with_image = write_pdf(embedded, tmp_path / "embedded.pdf")
    assert len(PdfReader(with_image).pages[0].images) == 1
    html = render("base.html", marking="OFFICIAL", title="x").replace(
        "</body>", f'<img src="file://{secret}"><img src="http://192.0.2.1/x.png"></body>'
    )
    pdf = write_pdf(html, tmp_path / "doc.pdf")
    assert len(PdfReader(pdf).pages[0].images) == 0


def test_image_data_uri_refuses_non_images(tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(InputError, match="not an image"):
        image_data_uri(other)
    png = tmp_path / "m.png"
    png.write_bytes(b"\x89PNG\r\n")
    assert image_data_uri(png).startswith("data:image/png;base64,iVBORw0K")
