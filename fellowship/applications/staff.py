"""Staff pages over the applications of a call."""
