"""Payroll's reads, one module per concern: weeks, amounts, terms, cap, evidence, timesheets, review,
contractor_weeks, exports and payouts."""
