"""The intake of every channel: receive messages, normalise them, store each in one
Redis call.

``app`` runs every configured channel (``channels.registry``): aiogram's dispatcher (the
only package that runs it) with the commands and batching routers for Telegram
(``telegram/``), and the Meta listener (``meta_webhook``) for WhatsApp, Instagram and
Messenger; ``tenants`` keeps a receiver per bot and the listener's accounts as
TENANTS_FILE changes; ``intake`` stores one message the same way for all; ``proactive``
is ``POST /proactive``; ``settings`` the bot's own. Run it with ``python -m bot``.
"""
