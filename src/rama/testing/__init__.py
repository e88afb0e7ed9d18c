"""Problems for tests, docs and benchmarks: a seeded generator of network-shaped problems
(:mod:`rama.testing.synthetic`) and named tiny networks with optima computed by hand
(:mod:`rama.testing.instances`), and builders of small problems and run folders
(:mod:`rama.testing.builders`). Not used by any stage."""

from rama.testing.builders import city_problem, random_problem, tiny_problem, tiny_run_folder
from rama.testing.instances import INSTANCES, NAMES, TRANSPORT_FORMS, KnownOptimum, instance
from rama.testing.synthetic import synthetic_problem, zipf_reach

__all__ = [
    "INSTANCES",
    "NAMES",
    "TRANSPORT_FORMS",
    "KnownOptimum",
    "city_problem",
    "instance",
    "random_problem",
    "synthetic_problem",
    "tiny_problem",
    "tiny_run_folder",
    "zipf_reach",
]
