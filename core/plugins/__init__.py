"""The plugin contracts (architectures, backends, flows), their registries and
the contract test suites shipped for third parties.
"""
