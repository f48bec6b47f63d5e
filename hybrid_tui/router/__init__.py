"""Classify, decide, score, learn, and the service that runs them. Never imports textual.

``classify`` (task type, complexity) -> ``decide`` (the fixed rules) -> ``policy`` (the rules
refined by the ``bandit``, ``predict``-ed completion times and loaded models) -> ``service``
streams the reply (``attempt``, ``limiter``, ``messages``) -> ``score`` and ``code_check``
judge it -> ``outcomes`` and ``learn`` record it.
"""
