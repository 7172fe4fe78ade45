"""Every write of payroll: pay terms, time entries and the cap, timesheets, pay runs."""
