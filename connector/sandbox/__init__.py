"""The sandbox: seeded, realistic companies for the demo, the tests and the benchmarks.

Never imported by production code paths (sync, engine, push); only the demo and test tooling use it.
"""
