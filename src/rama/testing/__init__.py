"""Problems for tests, docs and benchmarks: a seeded generator of network-shaped problems and
named tiny networks with known optima. Not used by any stage."""

from rama.testing.synthetic import synthetic_problem, zipf_reach

__all__ = ["synthetic_problem", "zipf_reach"]
