"""Benchmark scripts (run them as files: python bench/<name>.py); results in docs/BENCHMARKS.md."""
