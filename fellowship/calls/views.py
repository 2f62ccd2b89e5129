"""Call pages."""
