"""The engine: trace oracles, the Lie closure on them, the law search, the
certificate of a count and its independent re-checks.
"""
