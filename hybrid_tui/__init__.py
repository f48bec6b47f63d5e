"""hybrid-tui: chat-style coding against two local LLM servers, routed prompt by prompt."""

__version__ = "0.1.0"
