"""``python -m sandbox``: the local demo."""

from sandbox.demo import main

main()
