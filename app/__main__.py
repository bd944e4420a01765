"""``python -m app``: serve the API on $HOST:$PORT (default 127.0.0.1:8000)."""

from app.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["serve"]))
