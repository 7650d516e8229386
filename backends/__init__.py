"""Arithmetic backends: the fields ranks are taken in.

Three backends ship with conslaws, each registered through the
``conslaws.backends`` entry-point group like any third-party backend:

``modular`` (:class:`~conslaws.backends.modular.ModularBackend`)
    Exact linear algebra over GF(p) with python-flint ``nmod_mat``; the
    default, fast, and its ranks are rigorous lower bounds of the rank over Q.
``rational`` (:class:`~conslaws.backends.rational.RationalBackend`)
    Exact linear algebra over Q with python-flint ``fmpq_mat``; slower, no
    unlucky-prime caveat.
``float`` (:class:`~conslaws.backends.floating.FloatBackend`)
    numpy float64 with an SVD rank: a quick estimate, never certified.

The contract all three follow is documented in :mod:`conslaws.core.plugins.backend`
and checked by :mod:`conslaws.core.plugins.testing`.
"""
