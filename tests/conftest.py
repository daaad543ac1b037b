"""Unit tests run in float64 everywhere, JAX included (DESIGN §3)."""
import jax

jax.config.update("jax_enable_x64", True)
