"""Models and their networks: parameterizations, network graphs and their
interpreters over Q (exact expansion), floats (training) and GF(p) jets (probes),
and the laws a graph's structure proves.
"""
