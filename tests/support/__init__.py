"""What the tests and the benchmark share: the live gunicorn server (``servers``), the fake
OpenAI/Ollama-compatible model server (``fake_upstream``), account helpers (``accounts``),
Chromium through Playwright (``chromium``), the files the retrieval tests upload (``files``)
and the pytest plugin ``phase_reports``.

Fixtures built on these live in ``tests/conftest.py``; ``bench/run.py`` imports
``servers`` and ``fake_upstream`` directly.
"""
