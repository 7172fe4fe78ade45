"""Writes of the annotations app, one module per concern."""
