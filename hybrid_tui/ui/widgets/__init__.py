"""The app's widgets: conversation and turns, prompt and force control, health cards,
routing log, banner."""
