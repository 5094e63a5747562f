"""HTTP scoring service: FastAPI app, SQLite job queue, worker processes, web page."""
