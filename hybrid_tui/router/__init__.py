"""Classify, decide, score, learn, and the service that runs them. Never imports textual."""
