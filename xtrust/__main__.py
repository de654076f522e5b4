"""``python -m xtrust`` is the same as the ``xtrust`` command."""

from xtrust.cli import run

if __name__ == "__main__":
    run()
