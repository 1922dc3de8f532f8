"""Small helpers shared by several apps (bulk writing, safe exports). No models."""
