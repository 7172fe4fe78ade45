"""Time entries, the weekly cap, timesheets, pay runs and exports."""
