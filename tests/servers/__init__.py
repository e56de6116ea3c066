"""Contract-faithful local HTTP servers that stand in for the vendors in tests and benchmarks.

Each behaves as ``../shared/docs/channels.md`` §8 describes its vendor. They listen on loopback only.
"""
