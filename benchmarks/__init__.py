"""panbot benchmarks: `python -m benchmarks.run --help`."""
