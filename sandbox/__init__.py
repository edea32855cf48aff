"""A local stand-in for everything batchbot talks to, for the demo, benchmarks and tests.

- :mod:`sandbox.telegram_api`: a Bot API server on loopback that plays Telegram
  (:mod:`sandbox.telegram_wire` holds the JSON it speaks).
- :mod:`sandbox.whatsapp_api`: WhatsApp's Cloud API on loopback, both ways: the Graph
  endpoint the workers send to, and signed webhook deliveries to the bot
  (:mod:`sandbox.whatsapp_wire` holds their JSON).
- :mod:`sandbox.example_backend`: an AI backend implementing the contract, with a record
  of every call.
- :mod:`sandbox.redis_server`: starts a throwaway redis-server on a free port.
- :mod:`sandbox.launcher`: starts product processes and waits for their start-up line.
- :mod:`sandbox.peek`: reads pending messages as RedisInsight shows them.
- ``python -m sandbox``: the demo that runs them with the real bot and workers.
"""
