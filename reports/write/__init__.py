"""Write: the report as a document (``document``), rendered to Markdown and HTML, and ``results.csv``.
Stdlib only; never imports ``reports.draw`` (charts arrive as ``Figure`` records)."""
