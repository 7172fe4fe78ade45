"""Reads about contractors, one module per concern: agreements, profile, standing (next step) and applicants."""
