"""``python -m mixflow``: the same command line as the ``mixflow`` entry point."""

from mixflow.cli.main import run

if __name__ == "__main__":
    run()
