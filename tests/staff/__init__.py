"""Staff pages over a call's applications."""
