"""Drivers: the loops that run an activation's kernels over whole arrays, per target."""
