"""Reads of the portal that no single app owns, one module per concern."""
