"""Algebra: formulas, polynomials over Z, polynomial vector fields and their gradings."""
