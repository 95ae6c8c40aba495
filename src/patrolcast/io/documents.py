"""Documents from HTML templates: Jinja2 renders, WeasyPrint prints to PDF.

Every briefing output (forecast pack, proposal pack, transparency report) is an HTML template in
``patrolcast/io/templates/`` that extends ``base.html``. The base template gives an A4 page with
the protective marking at the top and bottom of every page, a title block and a footer line, and
inlines ``briefing.css`` so that nothing is fetched when printing.

Text from users and the database may be attacker-controlled: the environment autoescapes every
value, and an undefined template variable is an error rather than an empty string.

>>> html = render("base.html", marking="OFFICIAL", title="Test")  # doctest: +SKIP
>>> write_pdf(html, Path("out/test.pdf"))  # doctest: +SKIP

Variables of ``base.html`` (every template extending it needs them):

- ``marking``: the protective marking, e.g. ``Organisation.protective_marking`` for internal
  briefings or ``Organisation.public_marking`` for published reports;
- ``title``: the document title;
- optional ``subtitle`` and ``footer`` (one line printed above the bottom marking on each page).

Blocks: ``content`` (the body) and ``head`` (extra ``<style>`` for a template's own layout).
"""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from patrolcast.errors import InputError

__all__ = ["TEMPLATES", "environment", "image_data_uri", "render", "write_pdf"]

TEMPLATES = Path(__file__).with_name("templates")

_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one Jinja2 environment over ``patrolcast/io/templates`` (autoescape on, strict)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, /, **context: Any) -> str:
    """The HTML of ``template`` (a file name in ``patrolcast/io/templates``) with ``context``."""
    try:
        return environment().get_template(template).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise InputError(f"no document template named {template!r}") from exc
    except jinja2.UndefinedError as exc:
        raise InputError(f"document template {template!r}: {exc.message}") from exc


def image_data_uri(path: Path) -> str:
    """A ``data:`` URI holding the image at ``path``, to embed maps in a document."""
    path = Path(path)
    kind = _IMAGE_TYPES.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{path.name}: not an image a document can embed (png, jpeg, svg)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the image ({exc.strerror})") from exc
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def write_pdf(html: str, path: Path) -> Path:
    """Print ``html`` to a PDF at ``path`` (folders created); returns the path.

    Only embedded (``data:``) resources are loaded: a reference to a file or URL is dropped with
    WeasyPrint's warning, never fetched (embed images with :func:`image_data_uri`).
    """
    import weasyprint
    from weasyprint.urls import URLFetcher

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Documents embed their images and inline their CSS: only data: URIs are ever loaded, so
    # nothing is fetched from a network or read from a path a user wrote into a record.
    fetcher = URLFetcher(allowed_protocols={"data"})
    document = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url=str(TEMPLATES))
    document.write_pdf(path)
    return path
