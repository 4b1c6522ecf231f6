"""Measurement code of the benchmark tools (``tools/analysis_tools/``):
what is timed and how; the tools only parse arguments and report."""
