"""Calibration against simulated populations of known size (``make calibrate``).

The estimators are the mart's own SQL (dbt_project/macros/hidden_population.sql), rendered with
Jinja2 and run by DuckDB over every simulated replicate at once; docs/estimation.md has the results.
"""
