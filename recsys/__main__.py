"""`python -m recsys` runs the same CLI as the `recsys` command."""

from recsys.cli import main

if __name__ == "__main__":
    main()
