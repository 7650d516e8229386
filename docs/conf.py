"""Sphinx configuration of the conslaws documentation site (built by ``bash .ci/docs``).

The site is built offline: the Markdown pages go through myst-parser, the API
reference is read from the numpydoc docstrings of the installed package
(autodoc + napoleon), and MathJax is served from the copy that ships inside
the ``sphinx-mathjax-offline`` package, so no page loads anything from the
network.
"""

from __future__ import annotations

from importlib import metadata

project = "conslaws"
author = "the conslaws developers"
copyright = "the conslaws developers"
# Every top-level name here is read as a Sphinx setting (``version`` among them),
# so the package metadata is reached through its module, not imported by name.
try:
    release = metadata.version("conslaws")
except metadata.PackageNotFoundError:  # a source tree that is not installed
    release = "unknown"
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    # Copies its bundled MathJax into _static and points mathjax_path at it.
    "sphinx-mathjax-offline",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# Markdown: $...$ and $$...$$ math, and anchors for the headings that pages link to.
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

# numpydoc docstrings.  Attributes are rendered as fields of their class
# (":ivar:") rather than as separate attribute entries, so that a dataclass
# field documented both in the class docstring and by autodoc is not described
# twice (a duplicate-object warning under -W).
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_ivar = True
napoleon_use_rtype = False

autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_class_signature = "separated"

html_theme = "alabaster"
# No footer links to the Sphinx and theme sites: every page stays self-contained.
html_show_sphinx = False
html_theme_options = {"show_powered_by": False}
html_title = f"conslaws {release}"
html_static_path: list[str] = []
