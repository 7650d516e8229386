"""Models from real training code: PyTorch modules and ONNX files.

:func:`import_model` turns a ``torch.nn.Module`` (traced with ``torch.fx``), a loaded
``onnx.ModelProto`` or a path to an ``.onnx`` file (``os.PathLike``) into a
:class:`~conslaws.core.models.model.Model` built from its network graph, with the
framework's parameter names (``fc1.weight[3,5]``).  ``count`` and ``find_laws`` of
:mod:`conslaws.core.frontends.api` accept these objects in place of an architecture name.

Objects are recognised by what they can do, so neither torch nor onnx is imported
until a module or a file is given: a module has ``named_parameters`` and ``forward``,
a loaded ONNX model has a ``graph`` with ``node`` and ``initializer``.

What each importer supports is listed in :mod:`conslaws.core.frontends.importers.torch_import`
and :mod:`conslaws.core.frontends.importers.onnx_import`; anything else raises
:class:`UnsupportedNetworkError` naming the layer or operator.

Examples
--------
>>> importable("relu"), importable(3)
(False, False)
>>> import pathlib
>>> importable(pathlib.Path("net.onnx"))
True
"""

from __future__ import annotations

import os
from typing import Any

from conslaws.core.frontends.importers.graph_builder import ImportedNetwork, UnsupportedNetworkError
from conslaws.core.models.model import Model

__all__ = ["ImportedNetwork", "UnsupportedNetworkError", "import_model", "import_network",
           "importable", "is_torch_module"]

#: The options an imported model takes (the rest belong to architectures).
IMPORT_OPTIONS = ("input_shape", "loss")


def is_torch_module(obj: Any) -> bool:
    """Whether ``obj`` looks like a ``torch.nn.Module`` (duck typing, torch not imported)."""
    return callable(getattr(obj, "named_parameters", None)) and callable(
        getattr(obj, "forward", None))


def importable(obj: Any) -> bool:
    """Whether :func:`import_model` takes ``obj``: a torch module, an ONNX model or path.

    A ``str`` is never a path here: it is an architecture's registry name.
    """
    from conslaws.core.frontends.importers.onnx_import import is_onnx_model

    return isinstance(obj, os.PathLike) or is_torch_module(obj) or is_onnx_model(obj)


def import_network(obj: Any, *, input_shape: Any = None) -> ImportedNetwork:
    """The network graph of a torch module, an ONNX model or an ONNX file.

    ``input_shape`` (one sample's shape, without the batch dimension) is required for
    a torch module and refused for ONNX, whose file declares it.
    """
    if is_torch_module(obj):
        if input_shape is None:
            raise UnsupportedNetworkError(
                "input_shape is required for a torch module: the shape of one sample "
                "without the batch dimension, e.g. input_shape=(3,)", argument="input_shape")
        from conslaws.core.frontends.importers.torch_import import network_from_torch

        return network_from_torch(obj, input_shape=input_shape)
    if input_shape is not None:
        raise UnsupportedNetworkError("input_shape is for torch modules only: an ONNX file "
                                      "declares its input shape", argument="input_shape")
    from conslaws.core.frontends.importers.onnx_import import network_from_onnx

    return network_from_onnx(obj)


def import_model(obj: Any, *, input_shape: Any = None, loss: str | None = None) -> Model:
    """A :class:`Model` of a torch module, an ONNX model or an ONNX file.

    Parameters
    ----------
    obj : torch.nn.Module, onnx.ModelProto or os.PathLike
        The network.
    input_shape : int or sequence of int, optional
        Torch modules only (required): one sample's shape, without the batch axis.
    loss : {"squared", "cross-entropy"}, optional
        The loss, as the ``loss`` option of the network architectures.

    Raises
    ------
    UnsupportedNetworkError
        A layer, operator or option the graph format cannot express, or a bad
        ``input_shape``.
    """
    from conslaws.core.plugins.architecture import parse_loss

    chosen_loss = parse_loss(loss, "loss")  # refused before the import's work
    network = import_network(obj, input_shape=input_shape)
    options: dict[str, Any] = {}
    if is_torch_module(obj):
        from conslaws.core.frontends.importers.torch_import import shape_argument

        name, architecture = f"torch {type(obj).__name__}", "torch"
        options["input_shape"] = shape_argument(input_shape)
    else:
        where = os.fspath(obj) if isinstance(obj, os.PathLike) else "model"
        name, architecture = f"onnx {where}", "onnx"
    if chosen_loss is not None:
        options["loss"] = chosen_loss
    model = Model.from_graph(network.graph, name=name, architecture=architecture,
                             options=options)
    # Laws and points use the names made safe (identifiers, as laws must parse); the
    # framework's own names travel with the model, for the monitor and for users.
    model.framework_names = tuple(network.framework_names[n] for n in model.parameter_names)
    return model
