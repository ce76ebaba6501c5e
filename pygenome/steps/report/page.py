"""The page rendered from the Jinja templates of ``templates/`` (autoescaped: every text from the inputs reaches the
page escaped), with the CSS of ``templates/report.css.j2`` and ``check.js`` inlined, all read as package data through
:mod:`importlib.resources` so that an installed package finds them.

Templates are indented for reading; each line is read without its indentation and line break, so the page has no
whitespace between its tags; a line break in the page is written ``{{ "\\n" }}``.
"""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
from jinja2 import Environment, FunctionLoader, StrictUndefined
from markupsafe import Markup

from pygenome import __version__


def text(value) -> str:
    """A value as the page shows it: numbers to 4 significant digits, integers whole with thousands separators, yes
    or no, lists joined with ", ", mappings as "key: value; …", and missing or empty values as —."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)) or (
            isinstance(value, (str, dict, list, tuple)) and not value):
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating)) and float(value).is_integer()
                                                and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(text(v) for v in value)
    return str(value)


def _numeric(value) -> bool:
    """Whether a cell holds a number (right-aligned)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _headings(rows: list[dict], columns=None) -> dict:
    """``{key: heading}`` of a table: ``columns`` as given (``{key: heading}``), or its keys (by default every row's
    keys, in order) with "_" shown as " "."""
    columns = columns or list(dict.fromkeys(key for row in rows for key in row))
    return columns if isinstance(columns, dict) else {c: c.replace("_", " ") for c in columns}


def _settings(mapping: dict) -> list[dict]:
    """The rows of a two-column table of ``mapping``'s items."""
    return [{"setting": key, "value": value} for key, value in mapping.items()]


CARD_WIDTHS = (800, 1000, 1200)  # px: the viewport widths below which a wide table may become a card per row


def _resource(name: str) -> str:
    """A file of this package's data (``check.js``, ``templates/page.html.j2``…)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _template(name: str) -> str:
    """A template's source, each line without its indentation and line break."""
    return "".join(line.lstrip() for line in _resource(f"templates/{name}").splitlines())


def _environment() -> Environment:
    """The Jinja environment: templates from the package, autoescaped, with the filter ``text``, the test
    ``numeric`` and the functions ``headings`` and ``settings``."""
    environment = Environment(loader=FunctionLoader(_template), autoescape=True, undefined=StrictUndefined,
                              keep_trailing_newline=True)
    environment.filters["text"] = text
    environment.tests["numeric"] = _numeric
    environment.globals.update(headings=_headings, settings=_settings)
    return environment


def render(title: str, description: str, sections: list[dict]) -> str:
    """The page: ``sections`` (each ``anchor``, ``heading``, ``template`` and the template's data) under a header of
    ``title``, ``description`` and links to the sections."""
    return _environment().get_template("page.html.j2").render(
        title=title, description=description, sections=sections, version=__version__,
        css=Markup(_environment().get_template("report.css.j2").render(card_widths=(None, *CARD_WIDTHS))),
        script=Markup(_resource("check.js")))
