"""Measures: declarative definitions, the engine that computes them, and their statistics."""
