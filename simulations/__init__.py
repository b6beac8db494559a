"""A synthetic city driven through the public interfaces, and the benchmarks."""
