"""Mask quality scoring core: pure numpy, no Django import."""
