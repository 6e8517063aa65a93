"""Question sets through khabar and its baseline: one record builder, metrics and reports."""
