"""What the user reads: the gap report (topics, briefs), tagging, prospect journeys, and their
rendering (HTML, Markdown, CSV, XLSX workbook, labels in French and English)."""
