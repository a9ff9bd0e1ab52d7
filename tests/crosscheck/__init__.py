"""Cross-checks of the suite's numbers against code written independently of it (run by hand, not by pytest)."""
