"""Draw: every chart of a report. The only modules of ``reports`` that import matplotlib."""
