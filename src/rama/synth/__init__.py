"""Synthetic data generator: FreshRetailNet-50K-format sales with known latent demand,
plus the logistics table (``rama generate``). See docs/synthetic.md."""

from rama.synth.generate import GenerateResult, generate_datasets
from rama.synth.layout import Counts, scale_counts

__all__ = ["Counts", "GenerateResult", "generate_datasets", "scale_counts"]
