"""Quality gates: GX suite runner, gap checks over DataFrames, and the summary the publication embeds.

Nothing here imports Dagster; ``orchestration/checks`` wires these functions into asset checks.
"""
