"""A model: named parameters and the polynomial fields that generate its flow.

A :class:`Model` is what an architecture plugin produces and what every
algorithm consumes.  It is built from a parameterization φ (the generating
fields are the gradients ∇φ_i, docs/theory.md section 1), from a networkx graph
(:mod:`conslaws.core.models.graph`), or from fields given directly (flows other than
the gradient flow).

Examples
--------
>>> m = Model.from_phi(("x1", "x2", "x3"), ["x1*x2*x3"], name="product")
>>> m.dimension, m.parameter_names
(3, ('x1', 'x2', 'x3'))
>>> m.generators[0].to_sympy()
[x2*x3, x1*x3, x1*x2]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from conslaws.core.algebra.polynomials import PolynomialRing
from conslaws.core.algebra.vector_fields import VectorField
from conslaws.core.errors import (
    InvalidExpressionError,
    InvalidGraphError,
    InvalidOptionError,
    ModelTooLargeError,
)
from conslaws.core.validation import (
    MAX_DENSE_SIZE,
    ModelSize,
    check_formula_sizes,
    check_model_size,
    formulas_argument,
    names_argument,
    rows_argument,
)

__all__ = ["MAX_LISTED_PATHS", "Model"]

#: Most paths a graph model lists as fields.  Listing and closing 80,000 paths
#: (relu 20,20,20,10) took about 2 minutes; 25 times more would take hours.
MAX_LISTED_PATHS = 2_000_000


class Model:
    """Parameters and generating vector fields of one training flow.

    Attributes
    ----------
    name : str
        Short description, e.g. ``"relu widths=3,4,2 bias"``.
    ring : PolynomialRing
        The parameter ring; its names are the model's ``parameter_names``.
    generators : tuple of VectorField
        The generating fields W_0 (their span at θ is W_θ).
    phi : tuple of fmpz_mpoly or None
        The parameterization, when the fields are its gradients.
    architecture : str
        Registry name of the architecture that built the model.
    options : dict
        The normalised options it was built with.
    expansion : GatedExpansion or None
        For graph-built models, the output's expansion Σ φ_key m_key(x, γ),
        which the data-sampled mode evaluates on activation patterns.
    layers : tuple of int or None
        The layer (from 1) of each parameter, when the architecture numbers
        them (``--mirror-layers`` uses it).
    graph : networkx.DiGraph or None
        The network graph of graph-built models.
    notes : tuple of str
        What a count of this model means beyond the numbers, one sentence each:
        set by architectures when φ is known not to be minimal (a scalar input
        without biases), or when an option makes a part of the model inert.

    Notes
    -----
    A graph-built model expands its paths (``phi``, ``generators``,
    ``expansion``) only when one of them is first used: a network with 10^4
    parameters has far too many paths to list, and the probe engine
    (:mod:`conslaws.core.models.probes`) works from the graph alone.
    """

    def __init__(
        self,
        name: str,
        ring: PolynomialRing,
        generators: tuple[VectorField, ...] | None = None,
        phi: tuple[Any, ...] | None = None,
        architecture: str = "custom",
        options: Mapping[str, Any] | None = None,
        expansion: Any = None,
        layers: tuple[int, ...] | None = None,
        graph: Any = None,
        notes: Sequence[str] = (),
    ) -> None:
        if generators is None and graph is None:
            raise ValueError("a Model needs generating fields or a network graph")
        self.name = name
        self.ring = ring
        self.architecture = architecture
        self.options: Mapping[str, Any] = dict(options or {})
        self.layers = layers
        self.graph = graph
        self.notes: tuple[str, ...] = tuple(notes)
        #: For an imported network, each parameter's name in its framework
        #: (``fc1.weight[3,5]`` for ``fc1_weight_3_5``), in order; None otherwise.
        self.framework_names: tuple[str, ...] | None = None
        self._generators = generators
        self._phi = phi
        self._expansion = expansion

    def check_listable(self) -> None:
        """Raise :class:`ModelTooLargeError` if the graph's paths are too many to list.

        Nothing happens for models that are not graphs or whose paths are listed;
        the check counts the paths without listing them.
        """
        if self.graph is None or self._generators is not None:
            return
        from conslaws.core.models.graph import count_paths

        paths = count_paths(self.graph)
        if paths > MAX_LISTED_PATHS:
            raise ModelTooLargeError(
                f"{self.name} has {paths:,} paths, too many to list as fields (at most "
                f"{MAX_LISTED_PATHS:,}); count it with the probe engine: conslaws count ... "
                f"--engine probes")
        if paths * self.dimension > MAX_DENSE_SIZE:
            # flint stores all D exponents of each path's monomial (about a byte each).
            raise ModelTooLargeError(
                f"{self.name} has {paths:,} paths in {self.dimension:,} parameters: listing "
                f"them as fields needs about {paths * self.dimension / 1e9:.1f} GB (limit "
                f"MAX_DENSE_SIZE = {MAX_DENSE_SIZE:,} exponents); count it with the probe "
                f"engine: conslaws count ... --engine probes")

    def _expand(self) -> None:
        """Expand the graph's paths into φ and its gradient fields (once)."""
        from conslaws.core.models.graph import expand_graph

        self.check_listable()
        expansion = expand_graph(self.graph, self.ring)
        phi = expansion.phi_for_loss()
        kept = [p for p in phi if p.total_degree() > 0]
        self._expansion = expansion
        self._phi = tuple(kept)
        self._generators = _gradients(self.ring, kept)

    @property
    def generators(self) -> tuple[VectorField, ...]:
        """The generating fields (a graph model lists its paths on first use)."""
        if self._generators is None:
            self._expand()
        assert self._generators is not None
        return self._generators

    @property
    def phi(self) -> tuple[Any, ...] | None:
        """The parameterization φ, when the fields are its gradients."""
        if self._generators is None:
            self._expand()
        return self._phi

    @property
    def expansion(self) -> Any:
        """The gated expansion of a graph model (None for other models)."""
        if self.graph is not None and self._expansion is None:
            self._expand()
        return self._expansion

    @classmethod
    def from_phi(
        cls,
        names: Sequence[str],
        phi: Sequence[Any],
        *,
        name: str = "custom",
        architecture: str = "custom",
        options: Mapping[str, Any] | None = None,
        ring: PolynomialRing | None = None,
        notes: Sequence[str] = (),
    ) -> Model:
        """A model whose generating fields are ``∇φ_i``.

        ``names`` is a sequence of names (strings or sympy Symbols); ``phi`` a
        sequence of flint polynomials of ``ring``, sympy expressions, strings or
        numbers in those names.  Constant components carry no field and are
        dropped.

        Raises
        ------
        InvalidExpressionError
            A name or a formula is not valid (a single string is not a sequence).
        ModelTooLargeError
            Too many names, or formulas whose expansion would be too large
            (:mod:`conslaws.core.validation`).

        Examples
        --------
        >>> import sympy
        >>> u, v1, v2 = sympy.symbols("u v1 v2")
        >>> Model.from_phi((u, v1, v2), [u*v1, u*v2]).parameter_names
        ('u', 'v1', 'v2')
        """
        names = ring.names if ring is not None else names_argument(names)
        formulas = formulas_argument(phi)
        check_formula_sizes([p for p in formulas if not _is_flint_poly(p)], len(names))
        ring = ring or PolynomialRing(names)
        polys = [p if _is_flint_poly(p) else ring.from_sympy(p) for p in formulas]
        kept = [p for p in polys if p.total_degree() > 0]
        return cls(name, ring, _gradients(ring, kept), tuple(kept), architecture,
                   dict(options or {}), notes=notes)

    @classmethod
    def from_graph(
        cls,
        graph: Any,
        *,
        name: str = "graph",
        architecture: str = "custom",
        options: Mapping[str, Any] | None = None,
    ) -> Model:
        """A model from a network graph, φ read off by the gated-network view.

        See :mod:`conslaws.core.models.graph` for the graph format.  A network with a
        scalar input and no biases gets a note (see :attr:`notes`): it is
        positively homogeneous in x, so data reach at most 2n directions, and φ
        may have more.
        """
        import networkx as nx

        from conslaws.core.models.graph import validate_graph

        if not isinstance(graph, nx.DiGraph) or graph.is_multigraph():
            kind = type(graph).__name__
            raise InvalidGraphError(
                f"graph must be a networkx DiGraph (one edge per pair of nodes), got {kind}")
        declared = graph.graph.get("parameters", ())
        check_model_size(name, ModelSize(
            parameters=len(declared) if hasattr(declared, "__len__") else 0,
            graph=graph.number_of_nodes() + graph.number_of_edges()))
        validate_graph(graph)
        settings = dict(options or {})
        loss = settings.get("loss")
        if loss is not None:
            graph.graph["loss"] = loss
        notes = _activation_notes(graph, settings.get("activation"), settings.get("slope"))
        ring = PolynomialRing(names_argument(graph.graph["parameters"], "graph parameters"))
        layer_of = graph.graph.get("layers")
        layers = tuple(layer_of[n] for n in ring.names) if layer_of else None
        return cls(name, ring, None, None, architecture, options, layers=layers, graph=graph,
                   notes=notes + _homogeneous_note(graph))

    @classmethod
    def from_fields(
        cls,
        names: Sequence[str],
        fields: Sequence[VectorField | Sequence[Any]],
        *,
        name: str = "custom fields",
        architecture: str = "custom",
        options: Mapping[str, Any] | None = None,
        ring: PolynomialRing | None = None,
        notes: Sequence[str] = (),
    ) -> Model:
        """A model with generating fields given directly (D components each).

        ``fields`` is a sequence of fields, each a :class:`VectorField` or a
        sequence of D formulas, or a sympy Matrix whose rows are the fields.

        Examples
        --------
        >>> import sympy
        >>> x, y = sympy.symbols("x y")
        >>> Model.from_fields((x, y), sympy.Matrix([[y, -x]])).generators[0].to_sympy()
        [y, -x]
        """
        names = ring.names if ring is not None else names_argument(names)
        rows = rows_argument(fields, len(names))
        check_formula_sizes([c for f in rows if not isinstance(f, VectorField) for c in f
                             if not _is_flint_poly(c)], len(names), "fields")
        ring = ring or PolynomialRing(names)
        generators = []
        for i, f in enumerate(rows):
            if isinstance(f, VectorField):
                if f.ring is not ring and f.ring.names != ring.names:
                    raise InvalidExpressionError("a field lives in another parameter ring")
                generators.append(f)
            else:
                generators.append(VectorField.from_sympy(ring, list(f), label=f"w_{i + 1}"))
        kept = tuple(g for g in generators if not g.is_zero())
        return cls(name, ring, kept, None, architecture, dict(options or {}), notes=notes)

    def notes_sentences(self) -> str:
        """The model's notes as sentences for a statement (empty when there is none)."""
        return "".join(f" Note: {note.rstrip('.')}." for note in self.notes)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of the coordinates, in the order points and laws use."""
        return self.ring.names

    @property
    def dimension(self) -> int:
        """Dimension of the space the flow lives on (D)."""
        return self.ring.dimension

    @cached_property
    def generators_by_variable(self) -> dict[int, list[int]]:
        """For each variable, the indices of the generating fields with a
        nonzero component there."""
        index: dict[int, list[int]] = {}
        for i, g in enumerate(self.generators):
            for j in g.support:
                index.setdefault(j, []).append(i)
        return index

    @cached_property
    def fields_are_homogeneous(self) -> bool:
        """True when every generating field has components of one total degree.

        Then each homogeneous component of a conservation law is a law
        (docs/theory.md section 2.3), and laws can be sought degree by degree.
        """
        return all(g.is_homogeneous() for g in self.generators)

    def __repr__(self) -> str:
        return (
            f"Model({self.name!r}, D={self.dimension}, "
            f"{len(self.generators)} generating fields)"
        )


def _gradients(ring: PolynomialRing, phi: Sequence[Any]) -> tuple[VectorField, ...]:
    return tuple(VectorField.gradient(ring, p, label=f"∇φ_{i + 1}") for i, p in enumerate(phi))


def _is_flint_poly(obj: Any) -> bool:
    return type(obj).__name__ == "fmpz_mpoly"


def _activation_notes(graph: Any, activation: str | None, slope: Any) -> tuple[str, ...]:
    """Apply the ``activation`` and ``slope`` options to the graph's ReLU units.

    A network without hidden units has nothing to apply them to: the note says so
    (the options then leave the model as it is).
    """
    from conslaws.core.models.graph import set_activation

    if slope is not None and activation != "leaky-relu":
        raise InvalidOptionError("slope applies to the activation leaky-relu only",
                                 argument="slope")
    if activation is None or set_activation(graph, activation, slope):
        return ()
    return (f"activation: the network has no hidden ReLU unit, so the activation "
            f"{activation} changes nothing",)


def _homogeneous_note(graph: Any) -> tuple[str, ...]:
    """The note of a network with one input, no bias and a ReLU or max-pool unit.

    Every unit is then positively homogeneous in the input x, so the outputs
    are x f(θ, 1) for x > 0 and |x| f(θ, -1) for x < 0: data reach at most 2n
    directions (n outputs), and when φ has more components than that it is not
    minimal (docs/theory.md section 1).
    """
    import networkx as nx

    kinds = {kind for _, kind in graph.nodes(data="kind")}
    if len(graph.graph["inputs"]) != 1 or "bias" in kinds or not kinds & {"relu", "maxpool"}:
        return ()
    if "power" in kinds or any(graph.nodes[n].get("degree", 1) != 1 for n in graph):
        # Units of degree K > 1 after a skip edge mix powers of x: not homogeneous.
        return ()
    reach = 2 * len(graph.graph["outputs"])
    # Paths from the input that carry a parameter (a skip-only path is a constant of phi).
    every: dict[Any, int] = {}
    weighted: dict[Any, int] = {}
    for node in nx.topological_sort(graph):
        source = int(graph.nodes[node]["kind"] == "input")
        every[node] = source + sum(every[u] for u in graph.predecessors(node))
        weighted[node] = sum(every[u] if param is not None else weighted[u]
                             for u, _, param in graph.in_edges(node, data="param"))
    paths = sum(weighted[node] for node in graph.graph["outputs"])
    if paths <= reach:
        return ()
    return (f"scalar input without biases: the network is positively homogeneous in x, so "
            f"data reach at most {reach} directions (the gradients of f(1) and f(-1)) while "
            f"phi has {paths:,} paths; this count is for phi (laws of every loss through "
            f"phi); mode='data' counts the laws of the network's own fields",)
