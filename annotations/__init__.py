"""Label Studio client, jobs, batches, assignment, gold masks and scoring tasks."""
