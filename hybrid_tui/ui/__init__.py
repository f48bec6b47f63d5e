"""The full-screen Textual app: a view on the router service, nothing more.

Imported only by ``hybrid-tui`` without a subcommand (and ``--demo``), so the headless CLI
never pays for importing textual.
"""
