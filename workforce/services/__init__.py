"""Every write about contractors, one module per concern."""
