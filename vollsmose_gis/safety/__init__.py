"""Safety from evidence (issue 19)."""
