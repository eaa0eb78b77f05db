"""Benchmarks (``openinfusion bench``): each prints its figure beside a baseline measured in the same run.

They are not timed unit tests: ``tests/bench/`` only checks that each one runs and reports
what it should, with a tiny workload.
"""
