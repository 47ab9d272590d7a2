"""Situation-picture reports (lokal läges- och problembild): Swedish HTML with inline SVG charts.

Reads the *disclosed* marts only, so the reports show exactly what the published Parquet shows.
"""

from lagesbild.report.render import render_report, render_reports

__all__ = ["render_report", "render_reports"]
