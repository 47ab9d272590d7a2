"""Deterministic synthetic inputs: the county demo and the national-scale benchmark generator."""

from lagesbild.demo.summary import DemoSummary

__all__ = ["DemoSummary", "generate_demo", "generate_national"]


def __getattr__(name):  # lazy: importing the package must not import numpy-heavy generators
    if name == "generate_demo":
        from lagesbild.demo.county import generate_demo

        return generate_demo
    if name == "generate_national":
        from lagesbild.demo.national import generate_national

        return generate_national
    raise AttributeError(name)
