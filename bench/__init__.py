"""Benchmark harness and baselines for lagesbild at national scale (docs/bench.md)."""
