"""Modal screens: the full routing decision, and help."""
