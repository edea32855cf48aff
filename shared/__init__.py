"""What the bot and the workers share: settings, the wire models, Redis key names and scripts.

Nothing here imports aiogram's dispatcher, arq's worker or an HTTP client, so either
process (and any tool) can use it without pulling in the other's framework.
"""
