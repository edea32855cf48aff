"""A local stand-in for everything batchbot talks to, for the demo and the tests.

- :mod:`sandbox.telegram_api`: a Bot API server on loopback that plays Telegram.
- :mod:`sandbox.example_backend`: an AI backend implementing the contract, with a record
  of every call.
- :mod:`sandbox.redis_server`: starts a throwaway redis-server on a free port.
- ``python -m sandbox``: the demo that runs them with the real bot and workers.
"""
