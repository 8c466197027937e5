"""The Lab page's views: setup, live run, charts, results, insight, demos, code, run quiz."""
