"""Streamlit's entry script (asgi.py serves it): runs the app's frame, app.py, on every script run.

It lives in web/ because Streamlit runs an entry script that has a folder named pages/ beside it as an
old-style multipage app until st.navigation is first called: a fresh server's first visit by deep
link (/quiz) would run pages/quiz.py alone, with a sidebar listing the modules in pages/. Here no
pages/ folder is a sibling, so every visit, the first included, goes through the frame. Streamlit
serves this folder's static/ at app/static/ (ui/live_chart.py).
"""

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run web/entry.py` puts only web/ on the path
    sys.path.insert(0, str(ROOT))

runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
