"""SageMath interop (conslaws.core.frontends.sage), checked by Sage itself.

The Sage tests need the ``sage`` extra (``passagemath-categories``) and are skipped
without it.  Every law that comes back is checked conserved by Sage's own
arithmetic, independently of conslaws: for a law h and a component φ_i of the
parameterization, the gradient flow conserves h iff ∇h·∇φ_i = 0 for every i, here
``sum(h.derivative(x) * f.derivative(x) for x in R.gens()) == 0`` in Sage.  The law
spaces are compared with closed forms built in Sage (W1 W1ᵀ − W2ᵀ W2 for a linear
network), as spans of exact coefficient vectors.
"""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from typing import Any

import pytest
import sympy

from conslaws.core.errors import ConslawsError, InvalidExpressionError
from conslaws.core.frontends.sage import from_sage, sage_laws, to_sage


@pytest.fixture(scope="module")
def sage() -> Any:
    return pytest.importorskip("sage.all__sagemath_categories")


def _conserved(h: Any, phi: list[Any], ring: Any) -> bool:
    """∇h·∇f = 0 for every f in φ, computed by Sage."""
    return all(sum(h.derivative(x) * f.derivative(x) for x in ring.gens()) == 0 for f in phi)


def _rank(polys: list[Any]) -> int:
    """Rank over QQ of the coefficient vectors of Sage polynomials (Gaussian elimination)."""
    rows = [{m: Fraction(str(c)) for m, c in p.dict().items()} for p in polys]
    rank = 0
    while rows:
        pivot_row = next((r for r in rows if r), None)
        if pivot_row is None:
            break
        rows.remove(pivot_row)
        rank += 1
        m = next(iter(pivot_row))
        rows = [{k: v - r.get(m, 0) / pivot_row[m] * pivot_row.get(k, 0)
                 for k, v in {**{k: 0 for k in pivot_row}, **r}.items()} for r in rows]
        rows = [{k: v for k, v in r.items() if v} for r in rows]
    return rank


def test_importing_conslaws_never_imports_sage() -> None:
    code = ("import sys, conslaws.core, conslaws.core.frontends.sage, conslaws.core.frontends.api; "
            "print(any(m == 'sage' or m.startswith('sage.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_scalar_two_layer_law_comes_back_in_the_same_ring(sage: Any) -> None:
    R = sage.PolynomialRing(sage.QQ, ["u", "v1", "v2"])
    u, v1, v2 = R.gens()
    phi = [u * v1, u * v2]
    laws, complete = sage_laws(phi, 2, seed=1)
    assert complete
    assert len(laws) == 1
    (h,) = laws
    assert h.parent() is R
    assert _conserved(h, phi, R)
    # By hand: d/dt (u² − v1² − v2²) = 0 for φ = u·v; the law is a multiple of it.
    expected = u**2 - v1**2 - v2**2
    assert _rank([h, expected]) == 1


def test_linear_network_2_2_2_matches_the_closed_form(sage: Any) -> None:
    names = [f"a{i}{j}" for i in (1, 2) for j in (1, 2)] + \
            [f"b{i}{j}" for i in (1, 2) for j in (1, 2)]
    R = sage.PolynomialRing(sage.QQ, names)
    g = R.gens()
    W1 = [[g[0], g[1]], [g[2], g[3]]]
    W2 = [[g[4], g[5]], [g[6], g[7]]]
    product = [[sum(W2[i][k] * W1[k][j] for k in range(2)) for j in range(2)]
               for i in range(2)]
    phi = [product[i][j] for i in range(2) for j in range(2)]
    laws, complete = sage_laws(phi, 2, seed=1)
    assert complete
    assert len(laws) == 3
    assert all(h.parent() is R for h in laws)
    assert all(_conserved(h, phi, R) for h in laws)
    # Closed form: W1 W1ᵀ − W2ᵀ W2 is conserved; its 3 distinct entries span the laws.
    closed = [[sum(W1[i][k] * W1[j][k] for k in range(2))
               - sum(W2[k][i] * W2[k][j] for k in range(2)) for j in range(2)]
              for i in range(2)]
    entries = [closed[0][0], closed[0][1], closed[1][1]]
    assert closed[1][0] == closed[0][1]
    assert all(_conserved(c, phi, R) for c in entries)
    assert _rank(entries) == 3
    assert _rank(laws) == 3
    assert _rank(laws + entries) == 3


def test_rational_and_integer_rings(sage: Any) -> None:
    for base in (sage.QQ, sage.ZZ):
        R = sage.PolynomialRing(base, ["x", "y", "z"])
        x, y, z = R.gens()
        phi = [x * y * z]
        laws, complete = sage_laws(phi, 2, seed=2)
        assert complete
        # By hand: x² − y² and y² − z² (the balancedness of a product of three scalars).
        assert _rank(laws) == 2
        assert _rank([*laws, x**2 - y**2, y**2 - z**2]) == 2
        assert all(h.parent() is R and _conserved(h, phi, R) for h in laws)


def test_fields_a_rotation_conserves_the_radius(sage: Any) -> None:
    R = sage.PolynomialRing(sage.QQ, ["x", "y"])
    x, y = R.gens()
    from conslaws.core.frontends.api import find_laws

    model = from_sage(fields=[[y, -x]])
    assert model.parameter_names == ("x", "y")
    result = find_laws(model, 2, seed=1)
    laws = to_sage(result, R)
    assert result.complete
    assert len(laws) == 1
    (h,) = laws
    # Sage: h is constant along the field (y, −x); by hand it is a multiple of x² + y².
    assert h.derivative(x) * y - h.derivative(y) * x == 0
    assert _rank([h, x**2 + y**2]) == 1


def test_from_sage_reads_coefficients_and_the_ring_order(sage: Any) -> None:
    R = sage.PolynomialRing(sage.QQ, ["b", "a"])
    b, a = R.gens()
    model = from_sage([sage.QQ(1) / 3 * a * b**2, a + 2])
    assert model.parameter_names == ("b", "a")
    sb, sa = sympy.symbols("b a")
    # By hand, in the order (b, a): ∇(a b²/3) = (2ab/3, b²/3) and ∇(a + 2) = (0, 1),
    # each up to the positive scale conslaws may clear denominators with.
    expected = [[2 * sa * sb / 3, sb**2 / 3], [0, 1]]
    assert len(model.generators) == 2
    for field, hand in zip(model.generators, expected, strict=True):
        assert sympy.Matrix([list(field.to_sympy()), hand]).rank() == 1


def test_ring_gathers_polynomials_of_a_subring_and_constants(sage: Any) -> None:
    R = sage.PolynomialRing(sage.QQ, ["u", "v1", "v2"])
    S = sage.PolynomialRing(sage.QQ, ["u", "v1"])
    su, sv1 = S.gens()
    v2 = R.gen(2)
    with pytest.raises(InvalidExpressionError, match="give ring="):
        from_sage([su * sv1, R.gen(0) * v2])
    phi = [su * sv1, R.gen(0) * v2, 3, sage.QQ(1) / 2]
    laws, complete = sage_laws(phi, 2, ring=R, seed=1)
    assert complete and len(laws) == 1 and laws[0].parent() is R
    assert _conserved(laws[0], [R(f) for f in phi], R)


def test_to_sage_reads_strings_and_sympy(sage: Any) -> None:
    R = sage.PolynomialRing(sage.QQ, ["x", "y"])
    x, y = R.gens()
    sx, sy = sympy.symbols("x y")
    assert to_sage(["x^2 - y^2/2", sx * sy - 3], R) == [x**2 - sage.QQ(1) / 2 * y**2, x * y - 3]
    S = sage.PolynomialRing(sage.QQ, "t")
    (t,) = S.gens()
    assert to_sage(["t^3 + 1"], S) == [t**3 + 1]


def test_exp_clock_laws_are_refused(sage: Any) -> None:
    R = sage.PolynomialRing(sage.QQ, ["u", "v"])
    u, v = R.gens()
    with pytest.raises(InvalidExpressionError, match="exp"):
        sage_laws([u * v], 4, seed=1, flow="weight-decay")
    tt, su = sympy.symbols("t u")
    with pytest.raises(InvalidExpressionError, match=r"laws\[0\].*exp"):
        to_sage([sympy.exp(2 * tt) * su**2], R)


@pytest.mark.parametrize(("call", "message"), [
    (lambda s, R, x: from_sage(x * x), "for one polynomial give"),
    (lambda s, R, x: from_sage([x], fields=[[x]]), "exactly one of phi and fields"),
    (lambda s, R, x: from_sage([x, s.PolynomialRing(s.QQ, ["z"]).gen()]), "one Sage"),
    (lambda s, R, x: from_sage([s.PolynomialRing(s.PolynomialRing(s.QQ, ["c"]), ["z"]).gen()]),
     "over QQ or ZZ"),
    (lambda s, R, x: from_sage([x], ring=s.QQ), "must be a Sage polynomial ring"),
    (lambda s, R, x: from_sage([s.QQ(3)]), "one Sage polynomial ring"),
    (lambda s, R, x: to_sage(["x + t"], R), "t, which is not a variable"),
    (lambda s, R, x: to_sage(["x/2"], s.PolynomialRing(s.ZZ, ["x"])), "not in ZZ"),
    (lambda s, R, x: to_sage([sympy.Symbol("x") ** -1], R), "not a polynomial"),
    (lambda s, R, x: to_sage("x", R), "sequence of laws"),
    (lambda s, R, x: to_sage(["x"], "QQ[x]"), "must be a Sage polynomial ring"),
    (lambda s, R, x: to_sage(["__import__('os')"], R), "function call"),
])
def test_bad_input_is_one_clear_error(sage: Any, call: Any, message: str) -> None:
    R = sage.PolynomialRing(sage.QQ, ["x", "y"])
    with pytest.raises(ConslawsError, match=message):
        call(sage, R, R.gen(0))


def test_readme_sage_example() -> None:
    """The README's ```sage-python block runs as a doctest with a real Sage."""
    import doctest
    import re
    from pathlib import Path

    pytest.importorskip("sage.all__sagemath_categories")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = re.findall(r"```sage-python\n(.*?)```", readme, flags=re.S)
    assert blocks
    for block in blocks:
        test = doctest.DocTestParser().get_doctest(block, {}, "README sage", "README.md", 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test)
        assert runner.failures == 0


def test_sage_export_reads_back_in_sage(sage: Any) -> None:
    """`laws --format sage` lines, read by Sage in its ring, are the laws (and conserved).

    Sage's own reader of such a line is its preparser plus eval; this test does the same
    with the ring's generators as the only names (our own output, in a test).
    """
    from conslaws.core.frontends.api import find_laws

    result = find_laws("linear", 2, widths="2,2,2", seed=1)
    ring = sage.PolynomialRing(sage.QQ, ", ".join(result.parameter_names))
    names = dict(zip(ring.variable_names(), ring.gens(), strict=True))
    lines = result.to_sage().splitlines()
    assert lines[0].startswith("#")
    read = [eval(line, {"__builtins__": {}}, dict(names)) for line in lines[1:]]
    assert read == to_sage(result, ring)
    w = [names[n] for n in result.parameter_names]
    # phi of linear 2,2,2: the entries of W2 W1 (W1 = w[0:4], W2 = w[4:8], row-major).
    phi = [w[4 + 2 * i] * w[j] + w[4 + 2 * i + 1] * w[2 + j] for i in range(2) for j in range(2)]
    assert all(_conserved(h, phi, ring) for h in read)
