"""The planning problem: the working plan's parameters per store, product and pair, as one
validated frozen :class:`Problem` (``RUN/problem/``).

Entry points: :func:`make_problem` (tables in memory), :func:`load_problem` /
:func:`write_problem` (the problem folder), :func:`build_problem` (a run's prepared tables and
forecast), :func:`stochastic_problem` (K demand points per pair). See docs/optimizer.md.
"""

from rama.problem.build import build_problem, read_inventory
from rama.problem.folder import load_problem, read_points, transport_frame, write_problem
from rama.problem.model import PAIR_KEYS, TABLES, Problem, align_pairs, make_problem
from rama.problem.stochastic import stochastic_problem
from rama.problem.transport import CityCosts, TransportCosts, scale_transport

__all__ = [
    "PAIR_KEYS",
    "TABLES",
    "CityCosts",
    "Problem",
    "TransportCosts",
    "align_pairs",
    "build_problem",
    "load_problem",
    "make_problem",
    "read_inventory",
    "read_points",
    "scale_transport",
    "stochastic_problem",
    "transport_frame",
    "write_problem",
]
