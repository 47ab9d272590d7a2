"""The Jinja2 environment of the reports: one template per section under ``templates/``.

Autoescaping is on for every template, so a name or a description from the data can never inject
markup; fragments that are already HTML (formatted cells, inline SVG) arrive as ``Markup``.
Wording lives in the templates, so a communicator can change a sentence without touching Python.
"""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from lagesbild.report.names import swedish_date


@functools.cache
def environment(package: str = "lagesbild.report") -> Environment:
    env = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["swedish_date"] = swedish_date
    return env


def render(name: str, package: str = "lagesbild.report", **context) -> Markup:
    """Render ``templates/<name>`` of ``package`` with ``context``; the result is safe HTML."""
    return Markup(environment(package).get_template(name).render(**context))
