"""Problems for tests, docs and benchmarks: a seeded generator of network-shaped problems
(:mod:`rama.testing.synthetic`) and named tiny networks with optima computed by hand
(:mod:`rama.testing.instances`). Not used by any stage."""

from rama.testing.instances import INSTANCES, NAMES, TRANSPORT_FORMS, KnownOptimum, instance
from rama.testing.synthetic import synthetic_problem, zipf_reach

__all__ = [
    "INSTANCES",
    "NAMES",
    "TRANSPORT_FORMS",
    "KnownOptimum",
    "instance",
    "synthetic_problem",
    "zipf_reach",
]
