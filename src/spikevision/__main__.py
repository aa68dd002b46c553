"""``python -m spikevision ...`` (and ``torchrun -m spikevision train ...``): the command line."""

from .cli.main import main

if __name__ == "__main__":
    main()
