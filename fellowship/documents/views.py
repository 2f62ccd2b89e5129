"""Document pages."""
