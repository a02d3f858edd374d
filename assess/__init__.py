"""Detection, scoring, workload estimation, upgrade planning and benchmarks (no Qt, no monitor)."""
