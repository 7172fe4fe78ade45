"""Every non-trivial read of the annotations app, one module per concern (capacity, batches, jobs, review, quality,
qualification, health)."""
