"""Judge: verdicts, ties, rankings, headlines and costs of a run. Pure functions, stdlib only; never
imports ``reports.draw``. ``reports.build`` judges a run once and passes the judgement on."""
