"""Situation-picture reports (lokal läges- och problembild): Swedish HTML with inline SVG charts.

Reads the *disclosed* marts only, so the reports show exactly what the published Parquet shows.
"""

__all__ = ["render_report", "render_reports"]


def __getattr__(name):  # lazy: `lagesbild report --help` must not import pandas
    if name in __all__:
        from lagesbild.report import render

        return getattr(render, name)
    raise AttributeError(name)
