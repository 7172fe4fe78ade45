"""Every non-trivial read of the annotations app, one module per concern: capacity (with the weekly hours payroll
registers), batches, jobs, review, quality, qualification, evidence (overlays) and health."""
