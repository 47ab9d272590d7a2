"""The disclosure policy the synthetic-mart tests share."""

from __future__ import annotations

from lagesbild.disclosure import DisclosurePolicy


def synthetic_policy(derived: bool) -> DisclosurePolicy:
    """A policy over two synthetic marts, ``weekly`` and ``yearly``, where the count ``persons`` adds up
    over regions and over weeks (row, column and period totals: the hardest case for differencing);
    with ``derived``, each mart also has a value derived from the count (``mean_x``)."""
    derived_columns = {"derived": {"mean_x": ["persons"]}} if derived else {}
    return DisclosurePolicy.from_dict(
        {
            "min_persons": 5,
            "min_persons_for_derived": 10,
            "marts": {
                "weekly": {
                    "region_group": ["week_start"],
                    "counts": ["persons"],
                    **derived_columns,
                    "additive_over_regions": ["persons"],
                },
                "yearly": {
                    "region_group": ["year"],
                    "counts": ["persons"],
                    **derived_columns,
                    "additive_over_regions": ["persons"],
                    "period_of": {
                        "mart": "weekly",
                        "year_column": "year",
                        "weekly_year_column": "iso_year",
                        "columns": ["persons"],
                    },
                },
            },
        }
    )
