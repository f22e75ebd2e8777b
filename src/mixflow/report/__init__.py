"""HTML reports of fitted runs, read from a run directory's files.

``report`` sits at the edge of the data flow: it reads the files a fit writes (summary.json and
the CSV tables) and never imports the math packages.
"""

from mixflow.report.run_report import REPORT_FILE, build_html, render_report
from mixflow.report.rundir import RunFiles, read_run_dir

__all__ = ["REPORT_FILE", "RunFiles", "build_html", "read_run_dir", "render_report"]
