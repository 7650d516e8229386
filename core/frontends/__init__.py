"""Front ends: the Python API, the command line, sweeps, discrete training,
plots, results and their exports, and importers of real models.
"""
