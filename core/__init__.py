"""Fine-Tuning Lab's core: plain Python and PyTorch, no Streamlit."""

import os

# OpenMP threads that spin while waiting collapse when the cores are shared (a server with other
# sessions, a second job, a test runner beside the app): a 5 s run measured 100+ s with two busy
# neighbours, and 5 s again with passive waiting. libgomp reads this once, when torch is first
# imported, so it is set here, before any core module imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
