"""Pay terms of every job, time entries, the weekly cap, timesheets, pay runs and exports."""
