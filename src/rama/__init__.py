"""rama: Risk-Aware Material Allocation."""

__version__ = "0.1.0"
