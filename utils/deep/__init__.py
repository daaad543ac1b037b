"""Weeks 4 and 6, deep networks: the curvature-aware and modern optimizers (``kfac``, ``shampoo``, ``soap``,
``sophia``, ``muon``, ``sam``, ``schedule_free``), data parallelism and ZeRO (``distributed``), and the two labs'
networks in plain JAX (``resnet`` for week 4, ``transformer`` for week 6).
"""
from . import distributed, kfac, muon, resnet, sam, schedule_free, shampoo, soap, sophia, transformer

__all__ = [
    "distributed", "kfac", "muon", "resnet", "sam", "schedule_free", "shampoo", "soap", "sophia", "transformer",
]
