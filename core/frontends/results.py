"""Result objects: what a count or a law search found, in every output form.

A result carries everything a caller needs (counts per level, bounds, laws as
sympy expressions, parameter names, timing) and renders itself as a dict/JSON
(the fields fixed by cli.md), plain text for terminals, LaTeX, and HTML for
Jupyter; :mod:`conslaws.core.frontends.export` writes its laws for Sage, Mathematica
and Maple (``to_sage``, ``to_mathematica``, ``to_maple``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sympy

__all__ = ["FORMATS", "CountResult", "LawsResult", "laws_phrase"]

#: The output formats of every result: text, JSON and LaTeX are rendered here, the
#: formats of other systems by :func:`conslaws.core.frontends.export.to_format`.
FORMATS = ("text", "json", "latex", "sage", "mathematica", "maple")


def laws_phrase(number: int, kind: str = "") -> str:
    """``1 law``, ``3 independent polynomial laws``.

    Examples
    --------
    >>> laws_phrase(1), laws_phrase(3, "independent")
    ('1 law', '3 independent laws')
    """
    words = f"{kind} law" if kind else "law"
    return f"{number} {words}{'' if number == 1 else 's'}"


#: Laws shown by the notebook displays (all of them are in ``laws`` and in every export).
_SHOWN = 50


def _html_page(title: str, rows: Sequence[tuple[str, object]], heading: str,
               laws: Sequence[sympy.Expr], marked: frozenset[int] | None, note: str) -> str:
    """The notebook display of a result: title, a table, the laws as HTML text, a note.

    Plain HTML (``<sub>``, ``<sup>``), everything escaped; the classes keep
    MathJax 2 and 3 off it, so nothing in it is ever read as math.
    """
    from conslaws.core.frontends.export import html_law, html_text

    table = "".join(f"<tr><th style=\"text-align:left\">{html_text(key)}</th>"
                    f"<td style=\"text-align:left\">{html_text(value)}</td></tr>"
                    for key, value in rows)
    lines = []
    for i, law in enumerate(laws[:_SHOWN]):
        mark = "*" if marked is not None and i in marked else ""
        lines.append(f"h<sub>{i + 1}</sub>{mark} = {html_law(law)}")
    if len(laws) > _SHOWN:
        lines.append(f"... and {len(laws) - _SHOWN} more")
    if marked is not None and laws and len(marked) < len(laws):
        lines.append("<small>(* marks a functionally independent subset)</small>")
    listing = f"<p>{html_text(heading)}</p>" if heading else ""
    if lines:
        listing += f"<p style=\"font-family:monospace\">{'<br>'.join(lines)}</p>"
    return (f"<div class=\"conslaws tex2jax_ignore mathjax_ignore\">"
            f"<p><b>{html_text(title)}</b></p><table>{table}</table>{listing}"
            f"<p><small>{html_text(note)}</small></p></div>")


def _names_preview(names: tuple[str, ...], limit: int = 6) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[: limit - 1]) + f", ..., {names[-1]}"


def _export(result: Any, output: str) -> str:
    # The exporters import sympy's printers, which a count printed as text never needs.
    from conslaws.core.frontends.export import to_format

    return to_format(result, output)


class _Exports:
    """Exports shared by both results: their laws (a count's verified ones) for other systems.

    See :mod:`conslaws.core.frontends.export` for the names used in each system and how to read
    the lines back.
    """

    def to_sage(self) -> str:
        """The laws for Sage: a comment line, then one law per line."""
        return _export(self, "sage")

    def to_mathematica(self) -> str:
        """The laws for Mathematica (``_`` written ``x``), one per line."""
        return _export(self, "mathematica")

    def to_maple(self) -> str:
        """The laws for Maple, one per line."""
        return _export(self, "maple")


@dataclass
class CountResult(_Exports):
    """The number of conservation laws of one model and flow, with its proof status.

    Attributes mirror the JSON of ``conslaws count`` (see ``to_dict``).
    ``laws`` is ``parameters - lie_dimension``; it is proved exactly when
    ``certified`` is true, otherwise the truth lies between ``laws_lower_bound``
    and ``laws_upper_bound`` and ``statement`` says what is and is not proved.
    """

    architecture: str
    model: str
    flow: str
    parameters: int
    parameter_names: tuple[str, ...]
    trace_dimensions: list[int]
    lie_dimension: int
    laws: int
    certified: bool
    laws_lower_bound: int
    laws_upper_bound: int
    backend: str
    backend_details: dict[str, Any]
    seed: int | None
    seconds: float
    statement: str
    mode: str = "phi"
    point: list[str] = field(default_factory=list)
    #: The proved laws, as sympy expressions; a count's are built on first reading
    #: (:class:`~conslaws.core.engine.deferred_laws.DeferredLaws`), so printing the
    #: count alone never imports sympy.
    verified_laws: Sequence[sympy.Expr] = field(default_factory=list)
    verified_degree: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    data_samples: int = 0
    activation_patterns: dict[str, int] = field(default_factory=dict)
    engine: str = "fields"
    #: What was verified and how: the exact checks behind the bounds and the
    #: independent self-checks run before a count is called certified.
    checks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the fields of cli.md (and a few more)."""
        extra: dict[str, Any] = {}
        if self.mode == "data":
            extra = {"data_samples": self.data_samples,
                     "activation_patterns": dict(self.activation_patterns)}
        return {**extra,
            "architecture": self.architecture,
            "model": self.model,
            "flow": self.flow,
            "mode": self.mode,
            "parameters": self.parameters,
            "parameter_names": list(self.parameter_names),
            "trace_dimensions": list(self.trace_dimensions),
            "lie_dimension": self.lie_dimension,
            "laws": self.laws,
            "certified": self.certified,
            "laws_lower_bound": self.laws_lower_bound,
            "laws_upper_bound": self.laws_upper_bound,
            "statement": self.statement,
            "verified_laws": [str(h) for h in self.verified_laws],
            "verified_degree": self.verified_degree,
            "backend": self.backend,
            "backend_details": self.backend_details,
            "engine": self.engine,
            "seed": self.seed,
            "point": self.point,
            "seconds": round(self.seconds, 6),
            "timings": {k: round(v, 6) for k, v in self.timings.items()},
            "checks": list(self.checks),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The JSON document printed by ``conslaws count --json``."""
        return json.dumps(self.to_dict(), indent=indent)

    def _status(self) -> str:
        if self.certified:
            return "certified"
        return f"not certified: between {self.laws_lower_bound} and {self.laws_upper_bound}"

    def _backend_line(self) -> str:
        # "rank" (how the ranks were taken) is in the JSON; the line stays short.
        hidden = {"backend", "exact", "tolerance_used", "rank"}
        if "modulus" in self.backend_details:
            hidden.add("field")  # "GF(p)" repeats the modulus
        details = ", ".join(
            f"{k} {v}" for k, v in self.backend_details.items() if k not in hidden
        )
        seed = f", seed {self.seed}" if self.seed is not None else ", given point"
        return f"{self.backend} ({details}){seed}"

    def __str__(self) -> str:
        lines = [
            f"conslaws count: {self.model}   [flow: {self.flow}, mode: {self.mode}]",
            f"  parameters  D = {self.parameters}   ({_names_preview(self.parameter_names)})",
            f"  backend     {self._backend_line()}",
            "",
            "  level   dim W_k at the point",
        ]
        for k, dim in enumerate(self.trace_dimensions):
            note = ""
            if k and dim == self.trace_dimensions[k - 1]:
                note = "   (no growth: closed)"
            elif dim == self.parameters:
                note = "   (full: every direction reached)"
            lines.append(f"  W_{k:<5d} {dim:>6d}{note}")
        lines += [
            "",
            f"  Lie dimension {self.lie_dimension}  ->  {self.laws} conservation law"
            f"{'' if self.laws == 1 else 's'}   [{self._status()}]",
            f"  {self.statement}",
            f"  time {self.seconds:.3f} s",
        ]
        if self.mode == "data":
            seen = sorted(self.activation_patterns.items(), key=lambda kv: -kv[1])
            shown = ", ".join(f"{p or 'no gates'} ({n})" for p, n in seen[:8])
            more = f", ... ({len(seen)} in all)" if len(seen) > 8 else ""
            lines.insert(3, f"  data        {self.data_samples} sampled inputs; activation "
                            f"patterns (gates in order): {shown}{more}")
        return "\n".join(lines)

    def to_latex(self) -> str:
        """A LaTeX tabular of the trace dimensions and the count."""
        rows = " \\\\\n".join(f"$W_{{{k}}}$ & {d}" for k, d in enumerate(self.trace_dimensions))
        return (
            "\\begin{tabular}{lr}\n\\hline\nlevel & $\\dim W_k(\\theta^*)$ \\\\\n\\hline\n"
            f"{rows} \\\\\n\\hline\n"
            f"$\\dim \\mathrm{{Lie}}(W)$ & {self.lie_dimension} \\\\\n"
            f"laws ($D = {self.parameters}$) & {self.laws}"
            f"{'' if self.certified else ' (not certified)'} \\\\\n\\hline\n\\end{{tabular}}"
        )

    def _title(self) -> str:
        if self.certified:
            return f"{laws_phrase(self.laws, 'conservation')}, certified"
        return (f"between {self.laws_lower_bound} and {self.laws_upper_bound} conservation "
                "laws, not certified")

    def _repr_html_(self) -> str:
        """The notebook display: the count, its proof status, and the verified laws."""
        rows: list[tuple[str, object]] = [
            ("model", self.model),
            ("flow", self.flow if self.mode == "phi" else
             f"{self.flow} (mode {self.mode}, {self.data_samples} sampled inputs)"),
            ("parameters D", self.parameters), ("laws", self.laws),
            ("status", self._status()),
            ("Lie dimension", self.lie_dimension),
            ("dim W_k at the point", ", ".join(map(str, self.trace_dimensions))),
            ("backend", self._backend_line()), ("time", f"{self.seconds:.3f} s"),
        ]
        heading = ""
        if self.verified_laws or self.laws:
            heading = (f"{laws_phrase(len(self.verified_laws), 'independent')} verified "
                       f"exactly (degree <= {self.verified_degree}):")
        return _html_page(self._title(), rows, heading, self.verified_laws, None,
                          self.statement)

    def _repr_latex_(self) -> str:
        """The count and the verified laws as display math (the second notebook display)."""
        title = f"\\text{{{self._title()}; }} D = {self.parameters}"
        if not self.verified_laws:
            return f"$$ {title} $$"
        from conslaws.core.frontends.export import latex_laws

        laws = latex_laws(self.verified_laws, limit=_SHOWN)
        return f"$$ \\begin{{gathered}} {title} \\\\\n{laws}\n\\end{{gathered}} $$"

    def __repr__(self) -> str:
        return (
            f"CountResult({self.model!r}, D={self.parameters}, laws={self.laws}, "
            f"certified={self.certified})"
        )


@dataclass
class LawsResult(_Exports):
    """Polynomial conservation laws up to a degree, as sympy expressions.

    ``laws`` is a basis of the vector space of polynomial laws of degree
    1..``degree``; ``independent`` is how many of them are functionally
    independent (rank of their gradients at a point, exact);
    ``independent_indices`` picks such a subset.  ``complete`` is true when
    they account for every law: ``independent`` equals the certified count.
    """

    model: str
    architecture: str
    flow: str
    degree: int
    parameters: int
    parameter_names: tuple[str, ...]
    laws: list[sympy.Expr]
    independent: int
    independent_indices: list[int]
    complete: bool
    lie_dimension: int
    laws_upper_bound: int
    backend: str
    seed: int | None
    seconds: float
    homogeneous: bool = True
    #: What was verified and how (see :attr:`CountResult.checks`).
    checks: list[str] = field(default_factory=list)

    @property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        """The parameters as sympy symbols, matching those in :attr:`laws`."""
        import sympy

        return tuple(sympy.Symbol(n) for n in self.parameter_names)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the fields of cli.md (and a few more)."""
        return {
            "architecture": self.architecture,
            "model": self.model,
            "flow": self.flow,
            "degree": self.degree,
            "parameters": self.parameters,
            "parameter_names": list(self.parameter_names),
            "laws": [str(h) for h in self.laws],
            "independent": self.independent,
            "independent_indices": self.independent_indices,
            "complete": self.complete,
            "lie_dimension": self.lie_dimension,
            "laws_upper_bound": self.laws_upper_bound,
            "backend": self.backend,
            "seed": self.seed,
            "seconds": round(self.seconds, 6),
            "checks": list(self.checks),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The JSON document printed by ``conslaws laws --json``."""
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        kind = "exactly" if self.complete else "not all"
        lines = [
            f"conslaws laws: {self.model}   [flow: {self.flow}, degree <= {self.degree}]",
            f"  {len(self.laws)} polynomial law{'' if len(self.laws) == 1 else 's'} "
            f"(a basis of all laws of degree <= {self.degree}), "
            f"{self.independent} functionally independent",
            f"  complete: {'yes' if self.complete else 'no'} "
            f"({kind} the {self.laws_upper_bound} laws the Lie closure allows)",
            "",
        ]
        chosen = set(self.independent_indices)
        width = len(str(len(self.laws)))
        for i, h in enumerate(self.laws):
            mark = "*" if i in chosen else " "
            lines.append(f"  h{i + 1:<{width}d}{mark} = {h}")
        if self.laws and len(chosen) < len(self.laws):
            lines.append("  (* marks a functionally independent subset)")
        lines.append(f"  time {self.seconds:.3f} s")
        return "\n".join(lines)

    def to_latex(self) -> str:
        """The laws as a LaTeX ``aligned`` block, ``W1_2_3`` written ``W^{(1)}_{2,3}``."""
        from conslaws.core.frontends.export import latex_laws

        return latex_laws(self.laws, degree=self.degree)

    def _title(self) -> str:
        found = laws_phrase(len(self.laws))
        if len(self.laws) != self.independent:
            found += f" ({self.independent} independent)"
        return f"{found}, complete" if self.complete else f"{found} found, not all"

    def _repr_html_(self) -> str:
        """The notebook display: a table of what was found, and the laws as HTML text."""
        allowed = (f"yes: the {self.laws_upper_bound} laws the Lie closure allows"
                   if self.complete else
                   f"no: {self.independent} of at most {self.laws_upper_bound}")
        seed = "given point" if self.seed is None else self.seed
        rows: list[tuple[str, object]] = [
            ("model", self.model), ("flow", self.flow), ("parameters D", self.parameters),
            ("degree", f"<= {self.degree}"), ("laws found", len(self.laws)),
            ("functionally independent", self.independent), ("complete", allowed),
            ("Lie dimension", self.lie_dimension), ("backend", self.backend),
            ("seed", seed), ("time", f"{self.seconds:.3f} s"),
        ]
        heading = (f"a basis of the polynomial laws of degree <= {self.degree}:"
                   if self.laws else f"no polynomial law of degree <= {self.degree}")
        return _html_page(self._title(), rows, heading, self.laws,
                          frozenset(self.independent_indices), "; ".join(self.checks))

    def _repr_latex_(self) -> str:
        """The laws as display math (the second notebook display)."""
        from conslaws.core.frontends.export import latex_laws

        return f"$$ {latex_laws(self.laws, limit=_SHOWN, degree=self.degree)} $$"

    def __repr__(self) -> str:
        return (
            f"LawsResult({self.model!r}, degree={self.degree}, laws={len(self.laws)}, "
            f"independent={self.independent}, complete={self.complete})"
        )
