"""Contractors, onboarding and agreements."""
